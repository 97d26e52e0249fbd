import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest directory above this file holding a package.json (works from src/ and dist/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** Absolute path of a file under testdata/dockerfile/. */
export function testdataPath(...parts: string[]): string {
  return join(projectRoot(), 'testdata', 'dockerfile', ...parts);
}

/** Read a file under testdata/dockerfile/ as UTF-8. */
export function readTestdata(...parts: string[]): string {
  return readFileSync(testdataPath(...parts), 'utf8');
}
