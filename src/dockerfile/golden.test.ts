import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseDockerfile } from './index.js';
import { testdataPath } from './fixtures.js';

// Golden parser dumps: testdata/dockerfile/parse/<name>.Dockerfile -> <name>.json.
// Regenerate with UPDATE_GOLDEN=1 node --test dist/src/dockerfile/ (then review the diff).
const dir = testdataPath('parse');
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.Dockerfile'))
  .map((f) => f.slice(0, -'.Dockerfile'.length));

test('golden files exist', () => assert.ok(names.length >= 4));

for (const name of names) {
  test(`golden parse: ${name}`, () => {
    const file = `${name}.Dockerfile`;
    const df = parseDockerfile(readFileSync(`${dir}/${file}`, 'utf8'), file);
    const actual = JSON.stringify({ directives: df.directives, instructions: df.instructions }, null, 2) + '\n';
    const goldenPath = `${dir}/${name}.json`;
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(goldenPath, actual);
    assert.equal(actual, readFileSync(goldenPath, 'utf8'));
  });
}
