import type { Dockerfile } from '../dockerfile/index.js';
import { RULES, runRules, type LintOptions } from './rules.js';
import type { CheckDirective, LintWarning, RuleInfo } from './types.js';

export type { CheckDirective, LintWarning, RuleInfo } from './types.js';
export type { LintOptions } from './rules.js';

/** Parses `# check=skip=A,B;error=true` (BuildKit's syntax; `skip=all` turns every rule off). */
export function parseCheckDirective(value: string | undefined): CheckDirective {
  const out: CheckDirective = { skip: new Set(), error: false };
  for (const part of (value ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const v = part.slice(eq + 1).trim();
    if (key === 'skip') {
      const names = v.split(',').map((s) => s.trim()).filter(Boolean);
      if (names.some((n) => n.toLowerCase() === 'all')) out.skip = 'all';
      else if (out.skip !== 'all') for (const n of names) out.skip.add(n);
    } else if (key === 'error') out.error = v.toLowerCase() === 'true';
  }
  return out;
}

/** The build-check findings for a parsed Dockerfile, honouring its `# check=` directive. */
export function lint(df: Dockerfile, o: LintOptions = {}): LintWarning[] {
  return runRules(df, parseCheckDirective(df.directives.check).skip, o);
}

/** Every rule tsbuild checks, in BuildKit's order. */
export const LINT_RULES: readonly RuleInfo[] = RULES.map(({ name, description, experimental }) => ({ name, description, ...(experimental ? { experimental } : {}) }));
