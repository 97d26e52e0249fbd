// BuildKit conformance: every conformance/cases/<name> is built with the real tsbuild CLI and compared with
// conformance/expected/<name>.json (produced by a real BuildKit through conformance/regen.sh, or written from
// the Dockerfile reference where BuildKit 0.8 lacks the feature). Cases in conformance/known-failures.txt
// must still fail: the test tells you to remove them from the list once they pass.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busyboxRootfsTar, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild } from '../helpers/env.js';
import { flattenTar, readOciLayout, type Flat } from '../helpers/flatten.js';
import { CONFORMANCE, caseNames, knownFailures, loadCase, prepareContext, recordImage, type CaseSpec, type Expected, type ImageRecord } from './record.js';

/**
 * History text normalisation (documented in conformance/README.md): HEALTHCHECK's created_by is Go's %q of
 * BuildKit's HealthConfig struct, whose trailing fields change between BuildKit versions (newer ones add
 * StartInterval); only the test command part is compared. The options are compared in config.Healthcheck.
 */
export function normaliseCreatedBy(s: string): string {
  return s.replace(/^(HEALTHCHECK &\{\[.*\])[^\]]*\}$/s, '$1}');
}

/** A readable list of differences between the expected and actual records ([] when they match). */
export function compareRecords(exp: ImageRecord, act: ImageRecord): string[] {
  const out: string[] = [];
  const show = (v: unknown) => JSON.stringify(v);
  if (exp.base !== act.base) out.push(`base: expected ${exp.base}, got ${act.base}`);
  if ((exp.author ?? '') !== (act.author ?? '')) out.push(`author: expected ${show(exp.author)}, got ${show(act.author)}`);
  if (exp.layers !== act.layers) out.push(`layer count: expected ${exp.layers}, got ${act.layers}`);
  for (const k of new Set([...Object.keys(exp.config), ...Object.keys(act.config)])) {
    if (show(exp.config[k]) !== show(act.config[k])) out.push(`config.${k}: expected ${show(exp.config[k])}, got ${show(act.config[k])}`);
  }
  const eh = exp.history;
  const ah = act.history;
  if (eh.length !== ah.length) out.push(`history: expected ${eh.length} entries, got ${ah.length}:\n      expected ${show(eh.map((h) => h.created_by))}\n      got      ${show(ah.map((h) => h.created_by))}`);
  else {
    eh.forEach((h, i) => {
      const a = ah[i]!;
      // created_by null in a reference case: the exact text is not specified by the reference
      if (h.created_by !== null && normaliseCreatedBy(h.created_by) !== normaliseCreatedBy(a.created_by)) out.push(`history[${i}].created_by: expected ${show(h.created_by)}, got ${show(a.created_by)}`);
      if (h.empty_layer !== a.empty_layer) out.push(`history[${i}].empty_layer: expected ${h.empty_layer}, got ${a.empty_layer} (${a.created_by})`);
    });
  }
  const index = (es: ImageRecord['fs']['changed']) => new Map(es.map((e) => [e.path, show(e)]));
  const ef = index(exp.fs.changed);
  const af = index(act.fs.changed);
  for (const [p, e] of ef) {
    const a = af.get(p);
    if (a === undefined) out.push(`fs /${p}: missing (expected ${e})`);
    else if (a !== e) out.push(`fs /${p}:\n      expected ${e}\n      got      ${a}`);
  }
  for (const [p, a] of af) if (!ef.has(p)) out.push(`fs /${p}: unexpected ${a}`);
  const er = new Set(exp.fs.removed);
  const ar = new Set(act.fs.removed);
  for (const p of er) if (!ar.has(p)) out.push(`fs /${p}: should have been removed from the base`);
  for (const p of ar) if (!er.has(p)) out.push(`fs /${p}: removed from the base, but BuildKit keeps it`);
  return out;
}

interface Outcome {
  problems: string[]; // empty: the case conforms
}

const refs = (root: string): string[] =>
  JSON.parse(fs.readFileSync(path.join(root, 'index.json'), 'utf8')).manifests.map((m: any) => m.annotations?.['org.opencontainers.image.ref.name'] ?? m.digest);

function runCase(root: string, base: { flat: Flat; diffId: string }, spec: CaseSpec, exp: Expected): Promise<Outcome> | Outcome {
  const ctx = tempDir(`tsb-conf-${spec.name}-`);
  const secrets = tempDir(`tsb-conf-secrets-`);
  try {
    prepareContext(spec, ctx);
    const ref = `conformance-${spec.name}:latest`;
    const args = ['build', '--network', 'none', '-t', ref];
    for (const [k, v] of Object.entries(spec.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
    if (spec.target) args.push('--target', spec.target);
    for (const [id, value] of Object.entries(spec.secrets ?? {})) {
      const file = path.join(secrets, id);
      fs.writeFileSync(file, value);
      args.push('--secret', `id=${id},src=${file}`);
    }
    args.push(ctx);
    const before = refs(root);
    const r = tsbuild(root, args, { timeoutMs: 180_000 });
    const tail = (s: string) => s.trim().split('\n').slice(-12).join('\n    ');
    if (exp.error) {
      const problems: string[] = [];
      if (r.code !== 1) problems.push(`exit code: expected 1 (BuildKit fails: ${exp.error.buildkit}), got ${r.code}`);
      const lines = [...r.stderr.matchAll(/Dockerfile:(\d+)/g)].map((m) => Number(m[1]));
      if (!lines.includes(exp.error.line)) problems.push(`stderr should name Dockerfile:${exp.error.line} (BuildKit: ${exp.error.buildkit}); it names ${lines.length ? lines.map((l) => `Dockerfile:${l}`).join(', ') : 'no line'}`);
      const now = refs(root);
      const added = now.filter((x) => !before.includes(x));
      const removed = before.filter((x) => !now.includes(x));
      if (added.length) problems.push(`the failed build recorded refs: ${added.join(', ')}`);
      if (removed.length) problems.push(`the failed build removed refs: ${removed.join(', ')}`);
      if (problems.length && r.code !== 0) problems.push(`stderr:\n    ${tail(r.stderr)}`);
      return { problems };
    }
    if (r.code !== 0) return { problems: [`build failed (exit ${r.code}):\n    ${tail(r.stderr)}`] };
    const img = readOciLayout(root, ref);
    if (!img) return { problems: [`no image named ${ref} in the store`] };
    return recordImage(img, base).then((act) => ({ problems: compareRecords(exp.image!, act) }));
  } finally {
    fs.rmSync(ctx, { recursive: true, force: true });
    fs.rmSync(secrets, { recursive: true, force: true });
  }
}

describe('BuildKit conformance (conformance/cases)', () => {
  let root = '';
  let base: { flat: Flat; diffId: string } | undefined;
  const known = knownFailures();
  const names = caseNames();

  before(async () => {
    if (process.getuid?.() !== 0) return;
    root = storeWithBusybox();
    const tar = busyboxRootfsTar();
    const { createHash } = await import('node:crypto');
    base = { flat: await flattenTar(tar), diffId: `sha256:${createHash('sha256').update(fs.readFileSync(tar)).digest('hex')}` };
  });
  after(() => root && removeStore(root));

  test('known-failures.txt names only existing cases', () => {
    for (const name of known.keys()) assert.ok(names.includes(name), `known-failures.txt lists ${name}, which is not a case`);
  });

  for (const name of names) {
    test(name, async (t) => {
      const expFile = path.join(CONFORMANCE, 'expected', `${name}.json`);
      assert.ok(fs.existsSync(expFile), `${expFile} is missing: run conformance/regen.sh ${name}`);
      if (!requireSandbox(t)) return;
      // one case that loses the base image must not fail every later case
      if (!refs(root).includes('busybox:latest')) {
        const r = tsbuild(root, ['import', busyboxRootfsTar(), 'busybox:latest']);
        assert.equal(r.code, 0, `re-importing busybox:latest (an earlier case removed it): ${r.stderr}`);
      }
      const spec = loadCase(name);
      const exp: Expected = JSON.parse(fs.readFileSync(expFile, 'utf8'));
      const { problems } = await runCase(root, base!, spec, exp);
      const what = `${name} (${exp.source === 'reference' ? 'expected from the Dockerfile reference' : 'expected from BuildKit'}${exp.note ? `: ${exp.note}` : ''})`;
      if (known.has(name)) {
        assert.ok(problems.length > 0, `${name} now conforms: remove it from conformance/known-failures.txt`);
        t.diagnostic(`known failure (${known.get(name)}): ${problems[0]!.split('\n')[0]}`);
        return;
      }
      assert.ok(problems.length === 0, `${what} differs from the expected result:\n  - ${problems.join('\n  - ')}`);
    });
  }
});
