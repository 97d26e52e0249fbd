import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { canonicalJson } from '../image/index.js';
import type { Store } from '../store/index.js';
import { TsbuildError, ensureDir, tempSibling, writeFileAtomic } from '../util/index.js';
import { type ArchivePlan, blobEntry, planArchive } from './plan.js';
import { type TarMember, writeTarTo } from './tarwrite.js';

const OCI_LAYOUT = '{"imageLayoutVersion":"1.0.0"}';

function members(store: Store, plan: ArchivePlan, docker: boolean): TarMember[] {
  const out: TarMember[] = [
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...plan.blobs.map((b): TarMember => ({ name: blobEntry(b.digest), type: 'file', size: b.size, open: () => store.openBlob(b.digest) })),
    { name: 'index.json', type: 'file', data: Buffer.from(canonicalJson(plan.index)) },
  ];
  if (docker) out.push({ name: 'manifest.json', type: 'file', data: Buffer.from(JSON.stringify(plan.dockerManifest)) });
  out.push({ name: 'oci-layout', type: 'file', data: Buffer.from(OCI_LAYOUT) });
  return out;
}

function needNames(names: string[]): void {
  if (names.length === 0) throw new TsbuildError('TSB_USAGE', 'no images given to export');
}

/** `docker save`: an OCI layout plus docker's manifest.json (the docker 25+ form), blobs as stored (layers may be gzip). */
export async function saveDockerArchive(store: Store, names: string[], out: Writable | string): Promise<void> {
  needNames(names);
  await writeTarTo(members(store, await planArchive(store, names), true), out);
}

/** `--output type=docker`: the same archive as saveDockerArchive, written to a file. */
export async function writeDockerTar(store: Store, names: string[], dest: string): Promise<void> {
  await saveDockerArchive(store, names, dest);
}

/** `--output type=oci`: an OCI image layout as a tar file (like buildx) or as a directory. */
export async function writeOciLayout(store: Store, names: string[], dest: string, opts: { tar: boolean }): Promise<void> {
  needNames(names);
  const plan = await planArchive(store, names);
  if (opts.tar) return writeTarTo(members(store, plan, false), dest);
  ensureDir(path.join(dest, 'blobs', 'sha256'), 0o755);
  for (const b of plan.blobs) {
    const target = path.join(dest, blobEntry(b.digest));
    if (fs.existsSync(target) && fs.statSync(target).size === b.size) continue;
    const tmp = tempSibling(target);
    try {
      fs.copyFileSync(store.blobPath(b.digest), tmp, fs.constants.COPYFILE_FICLONE);
      fs.renameSync(tmp, target);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }
  writeFileAtomic(path.join(dest, 'oci-layout'), OCI_LAYOUT);
  writeFileAtomic(path.join(dest, 'index.json'), canonicalJson(plan.index));
}
