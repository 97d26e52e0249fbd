import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTsbuildError } from '../util/index.js';
import { expandWord, expandWords } from './index.js';
import { readTestdata } from './fixtures.js';

interface Row {
  line: number;
  input: string;
  expected: unknown;
  error?: string | true;
  env: Map<string, string>;
  escape: '\\' | '`';
}

function loadTable(): Row[] {
  const rows: Row[] = [];
  const env = new Map<string, string>();
  let escape: '\\' | '`' = '\\';
  readTestdata('expansion.txt')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '' || text.startsWith('#')) return;
      const envLine = /^env (\S+) (".*")$/.exec(text);
      if (envLine) return void env.set(envLine[1]!, JSON.parse(envLine[2]!) as string);
      const esc = /^escape (\\|`)$/.exec(text);
      if (esc) return void (escape = esc[1] as '\\' | '`');
      const sep = text.indexOf(' ==> ');
      assert.ok(sep > 0, `expansion.txt:${i + 1}: missing " ==> "`);
      const input = text.slice(0, sep);
      const rhs = text.slice(sep + 5);
      const row: Row = { line: i + 1, input, expected: undefined, env: new Map(env), escape };
      if (rhs === 'error') row.error = true;
      else if (rhs.startsWith('error ')) row.error = JSON.parse(rhs.slice(6)) as string;
      else row.expected = JSON.parse(rhs);
      rows.push(row);
    });
  return rows;
}

test('expansion table (testdata/dockerfile/expansion.txt)', () => {
  const rows = loadTable();
  assert.ok(rows.length > 100);
  for (const r of rows) {
    const where = `expansion.txt:${r.line}: ${r.input}`;
    if (r.error !== undefined) {
      assert.throws(
        () => expandWord(r.input, r.env, r.escape),
        (e: unknown) => {
          assert.ok(isTsbuildError(e, 'TSB_DOCKERFILE_SYNTAX'), where);
          if (typeof r.error === 'string') assert.ok(e.message.includes(r.error), `${where}: message ${e.message}`);
          return true;
        },
        where,
      );
    } else if (Array.isArray(r.expected)) {
      assert.deepEqual(expandWords(r.input, r.env, r.escape), r.expected, where);
    } else {
      assert.equal(expandWord(r.input, r.env, r.escape), r.expected, where);
    }
  }
});

test('expandWord accepts a plain record and ignores inherited properties', () => {
  assert.equal(expandWord('${A}-${constructor}-${toString:-d}', { A: 'x' }), 'x--d');
});

test('expandWord error names the word that failed', () => {
  assert.throws(() => expandWord('a${B:?needed}', {}), /failed to process "a\$\{B:\?needed\}": B: needed/);
});

test('expandWords of an empty or blank word is empty', () => {
  assert.deepEqual(expandWords('', {}), []);
  assert.deepEqual(expandWords('   ', {}), []);
  assert.deepEqual(expandWords('$UNSET', {}), []);
});
