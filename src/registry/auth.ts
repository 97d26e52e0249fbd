import { TsbuildError } from '../util/index.js';
import type { HttpResponse, Transport } from './transport.js';
import type { Credentials } from './types.js';

/** A parsed WWW-Authenticate challenge: scheme ("bearer"/"basic", lowercased) and its parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="repository:a:pull,push"` (quoted values may hold commas). */
export function parseChallenge(header: string | string[] | undefined): Challenge | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(h);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (const p of m[2]!.matchAll(re)) params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

/** `repository:NAME:ACTIONS` scope strings merged per resource, actions sorted (pull,push). */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const s of scopes) {
    const last = s.lastIndexOf(':');
    if (last < 0) continue;
    const res = s.slice(0, last);
    const set = byResource.get(res) ?? new Set<string>();
    for (const a of s.slice(last + 1).split(',')) if (a) set.add(a);
    byResource.set(res, set);
  }
  return [...byResource].map(([res, acts]) => `${res}:${[...acts].sort().join(',')}`).sort();
}

/** A bearer token with its expiry time (ms since epoch). */
export interface Token {
  header: string;
  expires: number;
}

/** Fetches a bearer token from the challenge's realm (anonymous when creds is undefined), as docker does with GET. */
export async function fetchToken(t: Transport, ch: Challenge, scopes: string[], creds: Credentials | undefined): Promise<Token> {
  const realm = ch.params.realm;
  if (!realm) throw new TsbuildError('TSB_REGISTRY_AUTH', 'registry sent a Bearer challenge without a realm');
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new TsbuildError('TSB_REGISTRY_AUTH', `registry sent an invalid token realm "${realm}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TsbuildError('TSB_REGISTRY_AUTH', `unsupported token realm scheme ${url.protocol}`);
  if (ch.params.service) url.searchParams.set('service', ch.params.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (creds) headers.authorization = basicHeader(creds);
  const res = await t.send({ method: 'GET', url, headers, idempotent: true });
  const text = await res.body.text();
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw new TsbuildError('TSB_REGISTRY_AUTH', `token server ${url.host} refused ${creds ? `the credentials of "${creds.username}"` : 'anonymous access'} (HTTP ${res.statusCode})`, {
      hint: creds ? 'check the username and password, then run tsbuild login again' : 'run tsbuild login for this registry',
    });
  }
  if (res.statusCode !== 200) throw new TsbuildError('TSB_REGISTRY_AUTH', `token server ${url.host} answered HTTP ${res.statusCode}`);
  let body: { token?: string; access_token?: string; expires_in?: number };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new TsbuildError('TSB_REGISTRY_AUTH', `token server ${url.host} sent invalid JSON`);
  }
  const token = body.token ?? body.access_token;
  if (!token) throw new TsbuildError('TSB_REGISTRY_AUTH', `token server ${url.host} sent no token`);
  const ttl = Math.max(Number(body.expires_in) || 60, 60);
  return { header: `Bearer ${token}`, expires: Date.now() + (ttl - 10) * 1000 };
}

/** The Authorization value for HTTP Basic. */
export function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** Reads a registry error body ({"errors":[{code,message}]}) into one line, and maps the status to an error code. */
export async function registryError(res: HttpResponse, what: string): Promise<TsbuildError> {
  let detail = '';
  try {
    const text = (await res.body.text()).slice(0, 2000);
    const j = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    detail = (j.errors ?? []).map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ');
  } catch {
    detail = '';
  }
  const msg = `${what}: HTTP ${res.statusCode}${detail ? ` (${detail})` : ''}`;
  if (res.statusCode === 401 || res.statusCode === 403) return new TsbuildError('TSB_REGISTRY_AUTH', msg, { hint: 'run tsbuild login for this registry, or check that you may access this repository' });
  if (res.statusCode === 404) return new TsbuildError('TSB_IMAGE_NOT_FOUND', msg, { hint: 'check the repository name and tag' });
  return new TsbuildError('TSB_NETWORK', msg);
}
