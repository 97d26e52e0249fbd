import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO } from './helpers/env.js';

/**
 * The module dependency rules of ../shared/ARCHITECTURE.md, enforced: each module may import only the
 * modules listed (util is open to all). Deviations from the guide, with their reasons:
 * - snapshot imports oci for the Digest type of layer ids;
 * - image imports store: an image view reads its blobs from the store;
 * - cli imports util for TsbuildError (the one error type it renders).
 * - lint (Dockerfile build checks) reads the typed dockerfile model; api exposes it (api may import anything).
 */
const ALLOWED: Record<string, string[]> = {
  util: [],
  oci: [],
  dockerfile: [],
  lint: ['dockerfile'],
  sys: [],
  graph: ['dockerfile', 'oci'],
  solver: ['graph', 'cache', 'oci'],
  ops: ['snapshot', 'runtime', 'layer', 'context', 'image', 'store', 'registry', 'graph', 'oci'],
  context: ['oci'],
  cache: ['oci'],
  snapshot: ['sys', 'oci'],
  runtime: ['sys'],
  layer: ['oci', 'sys'],
  image: ['oci', 'store'],
  store: ['oci'],
  registry: ['oci'],
  export: ['image', 'store', 'registry', 'layer', 'oci'],
  api: ['*'],
  cli: ['api'],
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('modules import only what the architecture allows, and only through index.ts', () => {
  const src = path.join(REPO, 'src');
  const problems: string[] = [];
  for (const module of fs.readdirSync(src).filter((m) => fs.statSync(path.join(src, m)).isDirectory())) {
    const allowed = ALLOWED[module];
    if (!allowed) {
      problems.push(`src/${module}: not in the architecture table`);
      continue;
    }
    for (const file of sources(path.join(src, module))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import\()\s*'\.\.\/([a-z]+)\/([^']+)'/g)) {
        const [, target, rest] = m;
        const rel = path.relative(REPO, file);
        if (target !== 'util' && !allowed.includes('*') && !allowed.includes(target!)) problems.push(`${rel}: imports ${target}`);
        if (rest !== 'index.js' && !(module === 'api' || module === 'cli')) problems.push(`${rel}: reaches into ${target}/${rest} instead of its index.ts`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('the table cannot pass vacuously: a forbidden import is caught', () => {
  assert.ok(!ALLOWED.dockerfile!.includes('store'));
  assert.ok(fs.readFileSync(path.join(REPO, 'src/graph/plan.ts'), 'utf8').includes("'../dockerfile/index.js'"), 'the scanner sees real imports');
});
