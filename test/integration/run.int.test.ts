import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO, mountsUnder, removeStore, requireSandbox, storeWithBusybox, tempDir, tsbuild, type CliResult } from '../helpers/env.js';

/**
 * Drives the container commands through the real CLI once src/cli/main.ts dispatches them; until then through
 * the command functions of src/cli/container-commands.ts (same code, same io contract, unbundled).
 */
const DRIVER = `
const [cmd, root, ...args] = process.argv.slice(1);
const m = await import(${JSON.stringify(path.join(REPO, 'dist/src/cli/container-commands.js'))});
const { renderError } = await import(${JSON.stringify(path.join(REPO, 'dist/src/cli/render.js'))});
const { exitCodeFor } = await import(${JSON.stringify(path.join(REPO, 'dist/src/cli/exit.js'))});
const ac = new AbortController();
if (cmd === 'run' || cmd === 'exec') process.on('SIGINT', () => {});
process.on('SIGTERM', () => ac.abort());
const io = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), root, signal: ac.signal };
try { process.exitCode = await m[cmd + 'Command'](args, io); } catch (e) { process.stderr.write(renderError(e)); process.exitCode = exitCodeFor(e); }
`;
let wired: boolean | undefined;

function cliArgv(root: string, args: string[]): string[] {
  wired ??= tsbuild(root, ['ps', '-a']).code === 0;
  return wired ? [path.join(REPO, 'bin/tsbuild.cjs'), '--root', root, ...args] : ['--input-type=module', '-e', DRIVER, args[0]!, root, ...args.slice(1)];
}

function ctr(root: string, args: string[], input = ''): CliResult {
  const r = spawnSync(process.execPath, cliArgv(root, args), { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function httpGet(port: number, file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: file }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function retry<T>(fn: () => Promise<T>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const leftovers = (root: string) => ({
  containers: fs.existsSync(path.join(root, 'containers')) ? fs.readdirSync(path.join(root, 'containers')).filter((n) => n !== '.names') : [],
  names: fs.existsSync(path.join(root, 'containers', '.names')) ? fs.readdirSync(path.join(root, 'containers', '.names')) : [],
  mounts: mountsUnder(root),
});
const NONE = { containers: [], names: [], mounts: [] };

describe('tsbuild run: detached containers and their lifecycle', () => {
  let root = '';
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
  });
  after(() => {
    if (!root) return;
    for (const id of ctr(root, ['ps', '-aq', '--no-trunc']).stdout.split('\n').filter(Boolean)) ctr(root, ['rm', '-f', id]);
    removeStore(root);
  });

  test('a detached HTTP server on a published 127.0.0.1 port, stopped, its logs read back', async (t) => {
    if (!requireSandbox(t, ['slirp4netns'])) return;
    const port = await freePort();
    const r = ctr(root, ['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:8080`, '--stop-timeout', '1', 'busybox', 'httpd', '-f', '-v', '-p', '8080', '-h', '/etc']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^[0-9a-f]{64}\n$/);
    assert.match(await retry(() => httpGet(port, '/hostname')), /^[0-9a-f]{12}\n$/);
    const ps = ctr(root, ['ps']);
    assert.match(ps.stdout, new RegExp(`Up .*127\\.0\\.0\\.1:${port}->8080/tcp\\s+web`));
    const taken = ctr(root, ['run', '-d', '--name', 'web', 'busybox', 'true']);
    assert.equal(taken.code, 125);
    assert.match(taken.stderr, /name "web" is already in use/);
    assert.equal(leftovers(root).containers.length, 1, 'a refused name leaves nothing');
    const busy = ctr(root, ['run', '-d', '--name', 'web2', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '100']);
    assert.equal(busy.code, 125);
    assert.match(busy.stderr, new RegExp(`cannot publish 127\\.0\\.0\\.1:${port}.*in use`));
    assert.equal(leftovers(root).containers.length, 1, 'a busy port leaves nothing');

    const stop = ctr(root, ['stop', 'web']);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(ctr(root, ['ps', '-a']).stdout, /Exited \(137\).*web/);
    await assert.rejects(httpGet(port, '/hostname'));
    const logs = ctr(root, ['logs', '--timestamps', 'web']);
    assert.match(logs.stderr, /^\d{4}-\d\d-\d\dT[\d:.]+Z .*response:200/m, 'httpd -v request log, framed with timestamps');
    const inspect = JSON.parse(ctr(root, ['container', 'inspect', 'web']).stdout)[0];
    assert.equal(inspect.State.Status, 'exited');
    assert.equal(inspect.State.ExitCode, 137);
    assert.equal(ctr(root, ['rm', 'web']).code, 0);
    assert.deepEqual(leftovers(root), NONE);
  });

  test('exec into a running container; stop signal; start and restart keep the rw layer; wait', (t) => {
    if (!requireSandbox(t)) return;
    const r = ctr(root, ['run', '-d', '--name', 'box', 'busybox', 'sh', '-c', 'echo started >> /state; trap "echo bye; exit 3" TERM; while :; do sleep 0.1; done']);
    assert.equal(r.code, 0, r.stderr);
    const ex = ctr(root, ['exec', '-e', 'X=1', 'box', 'sh', '-c', 'cat /state; echo x=$X; exit 5']);
    assert.equal(ex.code, 5, ex.stderr);
    assert.equal(ex.stdout, 'started\nx=1\n');
    assert.equal(ctr(root, ['exec', 'box', 'nosuch']).code, 127);
    assert.equal(ctr(root, ['stop', 'box']).code, 0);
    assert.equal(ctr(root, ['wait', 'box']).stdout, '3\n', 'the TERM trap ran: exit code recorded');
    assert.match(ctr(root, ['logs', 'box']).stdout, /bye/);
    assert.equal(ctr(root, ['start', 'box']).code, 0);
    assert.equal(ctr(root, ['exec', 'box', 'cat', '/state']).stdout, 'started\nstarted\n');
    assert.equal(ctr(root, ['restart', 'box']).code, 0);
    assert.equal(ctr(root, ['exec', 'box', 'cat', '/state']).stdout, 'started\nstarted\nstarted\n');
    const kill = ctr(root, ['kill', '-s', 'TERM', 'box']);
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(ctr(root, ['wait', 'box']).stdout, '3\n');
    assert.equal(ctr(root, ['rm', 'box']).code, 0);
    assert.deepEqual(leftovers(root), NONE);
  });

  test('kill -9 of the supervisor leaves nothing mounted after rm -f; --rm leaves no state', async (t) => {
    if (!requireSandbox(t, ['slirp4netns'])) return;
    const port = await freePort();
    const r = ctr(root, ['run', '-d', '--name', 'orphan', '-p', `127.0.0.1:${port}:80`, 'busybox', 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    const state = JSON.parse(fs.readFileSync(path.join(root, 'containers', id, 'state.json'), 'utf8'));
    process.kill(state.supervisor.pid, 'SIGKILL');
    await new Promise((res) => setTimeout(res, 200));
    assert.match(ctr(root, ['ps']).stdout, /orphan/, 'the container outlives its supervisor');
    const rm = ctr(root, ['rm', '-f', 'orphan']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(leftovers(root), NONE);
    assert.equal(spawnSync('runc', ['--root', '/run/tsbuild/runc', 'state', id]).status, 1, 'runc has no state left');
    assert.throws(() => process.kill(state.slirpPid, 0), /ESRCH/, 'slirp4netns is gone');

    assert.equal(ctr(root, ['run', '--rm', 'busybox', 'true']).code, 0);
    const d = ctr(root, ['run', '-d', '--rm', 'busybox', 'sh', '-c', 'exit 0']);
    assert.equal(d.code, 0, d.stderr);
    await retry(async () => assert.deepEqual(leftovers(root), NONE));
  });
});

describe('tsbuild run: flags, limits, exit codes and signals', () => {
  let root = '';
  before(() => {
    if (process.getuid?.() === 0) root = storeWithBusybox();
  });
  after(() => root && removeStore(root));

  test('-v read-write and :ro, --mount, --tmpfs, --read-only; a bad host path is a clear error', (t) => {
    if (!requireSandbox(t)) return;
    const host = tempDir('tsb-vol-');
    fs.writeFileSync(path.join(host, 'in.txt'), 'from host\n');
    const rw = ctr(root, ['run', '--rm', '-v', `${host}:/data`, 'busybox', 'sh', '-c', 'cat /data/in.txt; echo from container > /data/out.txt']);
    assert.equal(rw.code, 0, rw.stderr);
    assert.equal(rw.stdout, 'from host\n');
    assert.equal(fs.readFileSync(path.join(host, 'out.txt'), 'utf8'), 'from container\n');
    const ro = ctr(root, ['run', '--rm', '-v', `${host}:/data:ro`, 'busybox', 'sh', '-c', 'echo x > /data/x']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    const m = ctr(root, ['run', '--rm', '--read-only', '--mount', `type=bind,source=${host},target=/m,readonly`, '--tmpfs', '/scratch', 'busybox', 'sh', '-c', 'cat /m/in.txt; echo ok > /scratch/f && cat /scratch/f; touch /rootfile']);
    assert.equal(m.stdout, 'from host\nok\n');
    assert.match(m.stderr, /Read-only file system/);
    const bad = ctr(root, ['run', '--rm', '-v', '/no/such/dir:/data', 'busybox', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /bind source path does not exist: \/no\/such\/dir/);
    fs.rmSync(host, { recursive: true });
    assert.deepEqual(leftovers(root), NONE);
  });

  test('--memory kills a hog with 137; --pids-limit stops forks; env, user, workdir, hostname, caps, --init', (t) => {
    if (!requireSandbox(t)) return;
    const hog = ctr(root, ['run', '--rm', '--memory', '32m', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=256M', 'count=1']);
    assert.equal(hog.code, 137, hog.stderr);
    const pids = ctr(root, ['run', '--rm', '--pids-limit', '5', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait']);
    assert.match(pids.stderr, /can't fork/);
    const envFile = path.join(tempDir('tsb-env-'), 'env');
    fs.writeFileSync(envFile, '# comment\nFROM_FILE=yes\n');
    const o = ctr(root, ['run', '--rm', '-e', 'A=1', '--env-file', envFile, '-u', '1000:1000', '-w', '/tmp', '--hostname', 'hh', '--cap-drop', 'ALL', '--cpus', '0.5', 'busybox', 'sh', '-c', 'echo $A $FROM_FILE; id -u; pwd; hostname; grep CapBnd /proc/self/status']);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(o.stdout, '1 yes\n1000\n/tmp\nhh\nCapBnd:\t0000000000000000\n');
    const init = ctr(root, ['run', '--rm', '--init', 'busybox', 'ps', '-o', 'pid,args']);
    assert.match(init.stdout, /1 \/sbin\/docker-init -- ps/);
    const ep = ctr(root, ['run', '--rm', '--entrypoint', 'echo', 'busybox', 'via', 'entrypoint']);
    assert.equal(ep.stdout, 'via entrypoint\n');
  });

  test('exit codes: passed through, 125, 126, 127; SIGTERM and SIGINT reach the container', async (t) => {
    if (!requireSandbox(t)) return;
    assert.equal(ctr(root, ['run', '--rm', 'busybox', 'sh', '-c', 'exit 7']).code, 7);
    assert.equal(ctr(root, ['run', '--rm', 'busybox', 'nosuch']).code, 127);
    assert.equal(ctr(root, ['run', '--rm', 'busybox', '/etc/passwd']).code, 126);
    assert.equal(ctr(root, ['run', '--rm', '--memory', 'lots', 'busybox', 'true']).code, 2);
    assert.equal(ctr(root, ['run', '--rm', '-i', 'busybox', 'cat'], 'piped stdin\n').stdout, 'piped stdin\n');
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const child = spawn(process.execPath, cliArgv(root, ['run', '--rm', 'busybox', 'sh', '-c', `trap "echo got ${sig}; exit 42" ${sig.slice(3)}; echo ready; while :; do sleep 0.1; done`]), { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      await retry(async () => assert.match(out, /ready/), 20_000);
      child.kill(sig);
      const code = await new Promise((res) => child.on('close', res));
      assert.equal(code, 42, `${sig}: ${out}`);
      assert.match(out, new RegExp(`got ${sig}`));
    }
    assert.deepEqual(leftovers(root), NONE);
  });

  test('-it runs through a pty', (t) => {
    if (!requireSandbox(t, ['script'])) return;
    const cmd = [process.execPath, ...cliArgv(root, ['run', '--rm', '-it', 'busybox', 'sh', '-c', 'tty; test -t 0 && test -t 1 && echo BOTH-TTY; exit 4'])].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 4, r.stdout + r.stderr);
    assert.match(r.stdout, /\/dev\/pts\/\d+/);
    assert.match(r.stdout, /BOTH-TTY/);
  });
});
