import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsbuildError, isErrno } from '../util/index.js';
import { homeDir } from './transport.js';
import type { Credentials, RegistryOptions } from './types.js';

// ~/.docker/config.json, as docker reads and writes it: `auths` maps a server to {auth: base64(user:pass)},
// `credsStore` names a default docker-credential-* helper, `credHelpers` one per registry.

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

const HUB_KEY = 'https://index.docker.io/v1/';

/** The key docker uses for a registry in config.json and helpers (Docker Hub keeps its v1 URL). */
export function credentialKey(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io' ? HUB_KEY : registry;
}

/** The path of config.json. */
export function configFile(o: RegistryOptions = {}): string {
  return path.join(o.configDir ?? process.env.DOCKER_CONFIG ?? path.join(homeDir(), '.docker'), 'config.json');
}

function readConfig(o: RegistryOptions): DockerConfig {
  const file = configFile(o);
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SyntaxError('not an object');
    return v as DockerConfig;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return {};
    if (e instanceof SyntaxError) throw new TsbuildError('TSB_REGISTRY_AUTH', `${file} is not valid JSON`, { hint: 'repair or remove the docker config file' });
    throw e;
  }
}

function writeConfig(o: RegistryOptions, c: DockerConfig): void {
  const file = configFile(o);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, `${JSON.stringify(c, null, '\t')}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Runs `docker-credential-NAME verb` with stdin; resolves with stdout, or undefined for "credentials not found". */
function helper(name: string, verb: 'get' | 'store' | 'erase', input: string, signal?: AbortSignal): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(`docker-credential-${name}`, [verb], { stdio: ['pipe', 'pipe', 'pipe'], signal });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) =>
      reject(new TsbuildError('TSB_REGISTRY_AUTH', `credential helper docker-credential-${name} could not run: ${e.message}`, { cause: e, hint: 'install the helper or fix credsStore/credHelpers in the docker config' })),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve(out);
      if (/credentials not found/i.test(out + err)) return resolve(undefined);
      reject(new TsbuildError('TSB_REGISTRY_AUTH', `docker-credential-${name} ${verb} failed (exit ${code}): ${(out + err).trim().slice(0, 200)}`));
    });
    child.stdin.end(input);
  });
}

function helperFor(c: DockerConfig, registry: string): string | undefined {
  return c.credHelpers?.[registry] ?? c.credHelpers?.[credentialKey(registry)] ?? (c.credsStore || undefined);
}

function fromAuthEntry(e: NonNullable<DockerConfig['auths']>[string]): Credentials | undefined {
  if (e.identitytoken) return { username: '<token>', password: e.identitytoken };
  if (e.auth) {
    const plain = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
  }
  if (e.username && e.password) return { username: e.username, password: e.password };
  return undefined;
}

/** The stored credentials for a registry (helper first, then `auths`), or undefined for anonymous access. */
export async function getCredentials(registry: string, o: RegistryOptions = {}): Promise<Credentials | undefined> {
  const c = readConfig(o);
  const key = credentialKey(registry);
  const h = helperFor(c, registry);
  if (h) {
    const out = await helper(h, 'get', key, o.signal);
    if (out === undefined) return undefined;
    const r = JSON.parse(out) as { Username?: string; Secret?: string };
    return r.Secret ? { username: r.Username ?? '', password: r.Secret } : undefined;
  }
  const auths = c.auths ?? {};
  const entry = auths[key] ?? auths[registry] ?? auths[`https://${registry}`] ?? auths[`http://${registry}`];
  return entry ? fromAuthEntry(entry) : undefined;
}

/** Saves credentials the way docker login does: into the helper when one is configured, else base64 in `auths`. */
export async function storeCredentials(registry: string, creds: Credentials, o: RegistryOptions = {}): Promise<void> {
  const c = readConfig(o);
  const key = credentialKey(registry);
  const h = helperFor(c, registry);
  if (h) {
    await helper(h, 'store', JSON.stringify({ ServerURL: key, Username: creds.username, Secret: creds.password }), o.signal);
    c.auths = { ...c.auths, [key]: {} };
  } else {
    c.auths = { ...c.auths, [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  }
  writeConfig(o, c);
}

/** Removes stored credentials (docker logout); false when there were none. */
export async function eraseCredentials(registry: string, o: RegistryOptions = {}): Promise<boolean> {
  const c = readConfig(o);
  const key = credentialKey(registry);
  const h = helperFor(c, registry);
  let found = false;
  if (h) {
    found = (await helper(h, 'get', key, o.signal)) !== undefined;
    if (found) await helper(h, 'erase', key, o.signal);
  }
  for (const k of [key, registry]) {
    if (c.auths?.[k]) {
      found = true;
      delete c.auths[k];
    }
  }
  if (found) writeConfig(o, c);
  return found;
}
