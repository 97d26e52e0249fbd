// The node half of conformance/regen.sh (run it through that script, not by hand).
//   regen-cli.js prepare CASE DEST                       copy a case's context with normalised modes
//   regen-cli.js image CASE SAVEDIR BASETAR BASEDIFFID VERSION   write expected/CASE.json from `docker save`
//   regen-cli.js error CASE LOGFILE VERSION             write expected/CASE.json for a failing build
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flattenTar, readDockerArchiveDir, sortKeys } from '../helpers/flatten.js';
import { CONFORMANCE, applyOverride, loadCase, prepareContext, recordImage, type Expected } from './record.js';

function write(name: string, e: Expected): void {
  fs.writeFileSync(path.join(CONFORMANCE, 'expected', `${name}.json`), JSON.stringify(sortKeys(e), null, 2) + '\n');
}

/** The last meaningful error line of BuildKit 0.8's plain progress output. */
function buildkitError(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

/** The Dockerfile line BuildKit 0.8 names: "line N" in parse errors, else the failing step's text. */
function buildkitLine(log: string, dockerfile: string): number | undefined {
  const m = /(?:parse error|error) line (\d+)/.exec(log) ?? /Dockerfile:(\d+)/.exec(log);
  if (m) return Number(m[1]);
  const step = /^ > \[[^\]]*\] (.*):$/m.exec(log);
  if (!step) return undefined;
  const lines = dockerfile.split(/\r?\n/);
  const idx = lines.findIndex((l) => l.trim().toLowerCase() === step[1]!.trim().toLowerCase());
  return idx >= 0 ? idx + 1 : undefined;
}

async function main(): Promise<void> {
  const [cmd, name, ...rest] = process.argv.slice(2);
  if (!cmd || !name) return;
  const spec = loadCase(name);
  if (cmd === 'prepare') {
    prepareContext(spec, rest[0]!);
    return;
  }
  const source = spec.expectedFrom === 'reference' ? 'reference' : 'buildkit';
  if (cmd === 'image') {
    const [saveDir, baseTar, baseDiffId, version] = rest as [string, string, string, string];
    let image = await recordImage(readDockerArchiveDir(saveDir), { flat: await flattenTar(baseTar), diffId: baseDiffId });
    image = applyOverride(image, spec.override);
    if (spec.mountStubs?.length) {
      // BuildKit 0.8 leaves the empty dirs it made as RUN --mount targets in the layer; BuildKit 0.10+
      // removes them again (MountStubsCleaner), which is what tsbuild follows. Only empty dirs are dropped.
      const stubs = new Set(spec.mountStubs);
      const missing = spec.mountStubs.filter((p) => !image.fs.changed.some((e) => e.path === p && e.type === 'dir'));
      if (missing.length) throw new Error(`${name}: mountStubs ${missing.join(', ')} are not dirs BuildKit left`);
      image = { ...image, fs: { ...image.fs, changed: image.fs.changed.filter((e) => !stubs.has(e.path)) } };
    }
    write(name, { case: name, source, generatedWith: version, ...(spec.note ? { note: spec.note } : {}), image });
  } else if (cmd === 'error') {
    const [logFile, version] = rest as [string, string];
    const log = fs.readFileSync(logFile, 'utf8');
    const df = fs.readFileSync(path.join(spec.dir, 'Dockerfile'), 'utf8');
    const seen = buildkitLine(log, df);
    const line = spec.errorLine ?? seen;
    if (line === undefined) throw new Error(`${name}: cannot tell BuildKit's failing line; set errorLine in case.json`);
    if (seen !== undefined && seen !== line) throw new Error(`${name}: case.json says line ${line} but BuildKit failed at line ${seen}`);
    write(name, { case: name, source, generatedWith: version, ...(spec.note ? { note: spec.note } : {}), error: { line, buildkit: buildkitError(log) } });
  } else throw new Error(`unknown command ${cmd}`);
}

await main();
