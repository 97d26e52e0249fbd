import * as fs from 'node:fs';
import * as path from 'node:path';
import { isErrno } from '../util/index.js';

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return false;
    throw e;
  }
}

/**
 * The ignore file that applies to a build, as BuildKit picks it: `<Dockerfile name>.dockerignore` beside
 * the Dockerfile wins over `.dockerignore` at the context root; undefined when neither exists.
 */
export function ignoreFileFor(contextDir: string, dockerfilePath: string): string | undefined {
  const specific = path.join(path.dirname(path.resolve(dockerfilePath)), `${path.basename(dockerfilePath)}.dockerignore`);
  if (isFile(specific)) return specific;
  const generic = path.join(path.resolve(contextDir), '.dockerignore');
  return isFile(generic) ? generic : undefined;
}
