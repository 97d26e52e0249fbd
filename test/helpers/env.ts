import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, type TestContext } from 'node:test';

/** The repository root (tests run compiled from dist/, so walk up to package.json). */
export const REPO = (() => {
  let dir = path.dirname(new URL(import.meta.url).pathname);
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
})();

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

let probed: string | undefined | null = null;

/** Why the real sandbox is unavailable here (not root, no runc, no overlayfs), or undefined when it works. */
export function sandboxProblem(): string | undefined {
  if (probed !== null) return probed;
  probed = undefined;
  if (process.getuid?.() !== 0) probed = 'not running as root';
  else if (!has('runc')) probed = 'runc is not installed';
  else {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tsb-probe-'));
    try {
      for (const s of ['l1', 'l2', 'u', 'w', 'm']) fs.mkdirSync(path.join(d, s));
      const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${d}/l1:${d}/l2,upperdir=${d}/u,workdir=${d}/w`, `${d}/m`]);
      if (r.status !== 0) probed = `overlayfs cannot be mounted: ${r.stderr.toString().trim()}`;
      else spawnSync('umount', [`${d}/m`]);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }
  return probed;
}

/**
 * Skips a privileged test where the sandbox is missing, except in CI (CI=true), where a missing capability
 * is a failure: CI must never go green by skipping the real tests.
 */
export function requireSandbox(t: TestContext, tools: string[] = []): boolean {
  const missing = sandboxProblem() ?? tools.filter((tool) => !has(tool)).map((tool) => `${tool} is not installed`)[0];
  if (!missing) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true and the real sandbox is required: ${missing}`);
  t.skip(missing);
  return false;
}

/** A fresh temp dir, removed by the caller's cleanup. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real tsbuild CLI (compiled bin) against a store root. */
export function tsbuild(root: string, args: string[], options: { cwd?: string; input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(path.join(REPO, 'bin/tsbuild'), ['--root', root, ...args], {
    cwd: options.cwd ?? REPO,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    env: { ...process.env, CI: process.env.CI ?? '', ...options.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let busyboxTar: string | undefined;

/** A busybox rootfs tar made once per process by scripts/make-busybox-rootfs.sh. */
export function busyboxRootfsTar(): string {
  if (busyboxTar && fs.existsSync(busyboxTar)) return busyboxTar;
  busyboxTar = path.join(os.tmpdir(), `tsb-busybox-${process.pid}.tar`);
  execFileSync('bash', [path.join(REPO, 'scripts/make-busybox-rootfs.sh'), busyboxTar]);
  process.on('exit', () => fs.rmSync(busyboxTar!, { force: true }));
  return busyboxTar;
}

/**
 * A new store root with busybox:latest imported. `sameBase` imports with a fixed SOURCE_DATE_EPOCH, so
 * every such store has the byte-identical base image (as stores that pulled the same image would).
 */
export function storeWithBusybox(options: { sameBase?: boolean } = {}): string {
  const root = tempDir('tsb-store-');
  const r = tsbuild(root, ['import', busyboxRootfsTar(), 'busybox:latest'], options.sameBase ? { env: { SOURCE_DATE_EPOCH: '1700000000' } } : {});
  if (r.code !== 0) throw new Error(`import failed: ${r.stderr}`);
  return root;
}

/** Writes files (path -> content) into a new temp build context. */
export function makeContext(files: Record<string, string>): string {
  const dir = tempDir('tsb-ctx-');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** Overlay mounts currently under a directory (from /proc/self/mountinfo). */
export function mountsUnder(dir: string): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(dir));
}

/** Removes a store root (after checking nothing is still mounted there). */
export function removeStore(root: string): void {
  for (const m of mountsUnder(root)) spawnSync('umount', ['-l', m]);
  fs.rmSync(root, { recursive: true, force: true });
}

/** Session dirs left in a store's run/ (a live or crashed tsbuild process leaves one). */
export function sessionsLeft(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, 'run'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/**
 * For a describe block: a store with busybox made before its tests (as root) and removed after them,
 * with the temp dirs its tests `track`ed. `root` is '' when not root (tests then skip or fail via requireSandbox).
 */
export function suiteStore(): { readonly root: string; track(dir: string): string } {
  let root = '';
  const dirs: string[] = [];
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
  });
  after(() => {
    if (root) removeStore(root);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  return {
    get root() {
      return root;
    },
    track(dir) {
      dirs.push(dir);
      return dir;
    },
  };
}
