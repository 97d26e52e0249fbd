import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDockerfile, type Dockerfile } from '../dockerfile/index.js';
import { lint, parseCheckDirective, LINT_RULES, type LintOptions, type LintWarning } from '../lint/index.js';
import { TsbuildError, isErrno } from '../util/index.js';

export type { LintWarning, RuleInfo } from '../lint/index.js';
export { LINT_RULES };

/** Build-check warnings for a parsed Dockerfile (BuildKit's rules, honouring `# check=skip=…`). */
export function lintDockerfile(dockerfile: Dockerfile, o: LintOptions = {}): LintWarning[] {
  return lint(dockerfile, o);
}

/** Where the Dockerfile of a build is: `-f FILE`, `-f -` (stdin) or CONTEXT/Dockerfile. */
export interface DockerfileSource {
  contextDir: string;
  dockerfile?: string;
}

/** Reads and parses the Dockerfile of a build (TSB_DOCKERFILE_NOT_FOUND, TSB_DOCKERFILE_SYNTAX, …). */
export function loadDockerfile(o: DockerfileSource): Dockerfile {
  const fromStdin = o.dockerfile === '-';
  const file = fromStdin ? '<stdin>' : path.resolve(o.dockerfile ?? path.join(o.contextDir, 'Dockerfile'));
  let text: string;
  try {
    text = fs.readFileSync(fromStdin ? 0 : file, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR')) {
      throw new TsbuildError('TSB_DOCKERFILE_NOT_FOUND', `failed to read Dockerfile: ${file}: no such file`, { hint: 'pass -f PATH, or put a Dockerfile in the context directory' });
    }
    throw e;
  }
  try {
    return parseDockerfile(text, file);
  } catch (e) {
    if (fromStdin && e instanceof TsbuildError) e.sourceLines = text.split(/\r?\n/);
    throw e;
  }
}

export interface CheckResult {
  dockerfile: Dockerfile;
  warnings: LintWarning[];
  /** `# check=error=true`: warnings fail the check (and the build). */
  failOnWarnings: boolean;
}

/** `tsbuild build --check`: parse and lint without building. */
export function checkDockerfile(o: DockerfileSource): CheckResult {
  const dockerfile = loadDockerfile(o);
  return { dockerfile, warnings: lintDockerfile(dockerfile), failOnWarnings: parseCheckDirective(dockerfile.directives.check).error };
}
