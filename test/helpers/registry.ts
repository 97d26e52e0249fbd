import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { tempDir } from './env.js';

/** The htpasswd user of the Basic and token set-ups. */
export const USER = 'testuser';
export const PASS = 's3cret-pass';
/** bcrypt (cost 4) of PASS, made once with libxcrypt: the registry's htpasswd accepts only bcrypt. */
const HTPASSWD = `${USER}:$2b$04$fEeELbDllo55/gIYb.R16OLytfo8dRzfW8zLNjLLNDG0dJxZd3MaS\n`;

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** A test CA and a server certificate for 127.0.0.1 and localhost, made with openssl. */
export interface TestPki {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** Generates a CA and a server certificate signed by it (SAN IP:127.0.0.1, DNS:localhost). */
export function makePki(): TestPki {
  const dir = tempDir('tsb-pki-');
  const f = (n: string) => path.join(dir, n);
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ossl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-subj', '/CN=tsbuild test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ossl(['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('server.crt'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { dir, caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key') };
}

/** A running docker-registry (distribution v2) on 127.0.0.1. */
export interface RegistryServer {
  /** host:port */
  host: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** Registry set-up: plain, htpasswd Basic over TLS, or token auth (TLS optional). */
export interface RegistrySetup {
  tls?: TestPki;
  htpasswd?: boolean;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

/** Starts docker-registry with a config written here; resolves once /v2/ answers. */
export async function startRegistry(setup: RegistrySetup = {}): Promise<RegistryServer> {
  const dir = tempDir('tsb-registry-');
  const port = await freePort();
  const lines = ['version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true', 'storage:', '  filesystem:', `    rootdirectory: ${dir}/data`, '  delete:', '    enabled: true', 'http:', `  addr: 127.0.0.1:${port}`, '  secret: tsbuild-test-secret'];
  if (setup.tls) lines.push('  tls:', `    certificate: ${setup.tls.serverCert}`, `    key: ${setup.tls.serverKey}`);
  if (setup.htpasswd) {
    fs.writeFileSync(path.join(dir, 'htpasswd'), HTPASSWD);
    lines.push('auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${dir}/htpasswd`);
  } else if (setup.token) {
    const t = setup.token;
    lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootCertBundle}`);
  }
  fs.writeFileSync(path.join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const scheme = setup.tls ? 'https' : 'http';
  const dispatcher = new Agent({ connect: setup.tls ? { ca: fs.readFileSync(setup.tls.caCert) } : {} });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await dispatcher.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const r = await request(`${scheme}://127.0.0.1:${port}/v2/`, { dispatcher });
      await r.body.dump();
      return { host: `127.0.0.1:${port}`, port, dir, stop };
    } catch {
      await sleep(50);
    }
  }
  await stop();
  throw new Error(`docker-registry did not start: ${stderr}`);
}

/** One token request the token server answered. */
export interface TokenRequest {
  account: string | undefined;
  service: string | null;
  scopes: string[];
  granted: Array<{ type: string; name: string; actions: string[] }>;
}

/** An in-process token server (distribution's `auth: token` flow) signing RS256 JWTs with a generated key. */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate of the signing key: the registry's rootcertbundle. */
  rootCertBundle: string;
  requests: TokenRequest[];
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/**
 * Starts the token server on 127.0.0.1. USER/PASS get every action asked for; anonymous callers get pull on
 * repositories under public/ (as Docker Hub hands anonymous pull tokens); wrong credentials get 401.
 */
export async function startTokenServer(): Promise<TokenServer> {
  const dir = tempDir('tsb-token-');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-subj', '/CN=tsbuild token signer', '-days', '2'], { stdio: 'pipe' });
  const key = createPrivateKey(fs.readFileSync(`${dir}/key.pem`));
  const certPem = fs.readFileSync(`${dir}/cert.pem`, 'utf8');
  const der = certPem.replace(/-----[^-]+-----|\s/g, '');
  const service = 'tsbuild-test-registry';
  const issuer = 'tsbuild-test-issuer';
  const requests: TokenRequest[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    let account: string | undefined;
    if (auth) {
      const [user, pass] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
      if (user !== USER || pass !== PASS) {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end('{"details":"incorrect username or password"}');
      }
      account = user;
    }
    const scopes = url.searchParams.getAll('scope');
    const granted = scopes.flatMap((s) => {
      const [type, name, actions] = s.split(':') as [string, string, string];
      const allowed = actions.split(',').filter((a) => account !== undefined || (a === 'pull' && name.startsWith('public/')));
      return allowed.length > 0 ? [{ type, name, actions: allowed }] : [];
    });
    requests.push({ account, service: url.searchParams.get('service'), scopes, granted });
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [der] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: account ?? '', aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access: granted }));
    const token = `${header}.${claims}.${b64url(sign('sha256', Buffer.from(`${header}.${claims}`), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: `${dir}/cert.pem`,
    requests,
    stop: () => new Promise<void>((r) => server.close(() => { fs.rmSync(dir, { recursive: true, force: true }); r(); })),
  };
}
