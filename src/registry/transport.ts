import * as fs from 'node:fs';
import { isIP } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import * as v8 from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
// undici's index loads all of undici (fetch, websocket, cache, mock agents, http2, ...): ~60 ms of node
// builtins and code per registry command. The agent and the request API are all this client uses.
import Agent from 'undici/lib/dispatcher/agent.js';
import apiRequest from 'undici/lib/api/api-request.js';
import { isErrno, isTsbuildError, trustedCas, TsbuildError } from '../util/index.js';
import type { RegistryOptions } from './types.js';

/** One HTTP exchange; `body` is a factory so a retry can send it again. */
export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: () => Readable | Buffer | string;
  /** Retry on connection errors too (safe for GET/HEAD/PUT of a manifest); 5xx/429 are retried unless false. */
  idempotent?: boolean;
  retry?: boolean;
}

export type HttpResponse = Dispatcher.ResponseData;

/** True for localhost and 127.0.0.0/8 (and ::1): plain HTTP allowed by default, like docker. */
export function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return name === 'localhost' || /^127(\.\d{1,3}){3}$/.test(name) || name === '::1';
}

/** The API endpoint host of a registry name: docker.io is served by registry-1.docker.io. */
export function registryHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

function certsRoot(o: RegistryOptions): string {
  return o.certsDir ?? process.env.TSBUILD_CERTS_DIR ?? '/etc/docker/certs.d';
}

/** TLS material from certs.d/HOST: every *.crt is a CA, NAME.cert + NAME.key is a client certificate. */
export function tlsFor(host: string, o: RegistryOptions): { ca?: Buffer[]; cert?: Buffer; key?: Buffer } | undefined {
  const dir = path.join(certsRoot(o), host);
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return undefined;
    throw e;
  }
  const out: { ca?: Buffer[]; cert?: Buffer; key?: Buffer } = {};
  const cas = names.filter((n) => n.endsWith('.crt')).map((n) => fs.readFileSync(path.join(dir, n)));
  if (cas.length > 0) out.ca = trustedCas(cas)!;
  const cert = names.find((n) => n.endsWith('.cert') && names.includes(n.replace(/\.cert$/, '.key')));
  if (cert) {
    out.cert = fs.readFileSync(path.join(dir, cert));
    out.key = fs.readFileSync(path.join(dir, cert.replace(/\.cert$/, '.key')));
  }
  return out;
}

/**
 * Whether an insecure `host` (loopback, or listed in insecureRegistries) speaks TLS ('https') or not ('http'):
 * a bare handshake whose socket is destroyed at once, so a plain-HTTP server's half-closed connection cannot
 * hold the process open. The probe trusts no CA at all: building Node's root store costs ~45 ms here, and a
 * plain-HTTP registry (the usual insecure one) never needs it. A host that speaks TLS is then used over
 * HTTPS with full verification (unlike docker, which ignores certificate errors of insecure registries):
 * an untrusted certificate is a clear error, and certs.d/HOST/ca.crt makes it trusted.
 */
function probeTls(host: string, signal: AbortSignal | undefined): Promise<'https' | 'http'> {
  const u = new URL(`https://${host}`);
  const hostname = u.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve('http');
    const s = tls.connect({ host: hostname, port: Number(u.port || 443), ca: [], rejectUnauthorized: false, ...(isIP(hostname) ? {} : { servername: hostname }) });
    const done = (scheme: 'https' | 'http') => {
      signal?.removeEventListener('abort', onAbort);
      s.destroy();
      resolve(scheme);
    };
    const onAbort = () => done('http');
    signal?.addEventListener('abort', onAbort, { once: true });
    s.once('secureConnect', () => done('https'));
    s.once('error', () => done('http'));
    s.once('close', () => done('http'));
    s.setTimeout(5000, () => done('http'));
  });
}

let wasmTierUpOff = false;

/**
 * undici parses HTTP with llhttp compiled to WebAssembly on the first connection; V8 then re-compiles its
 * hot functions with TurboFan on background threads, and Node waits for those jobs before the process can
 * exit: 0.2–0.5 s after the last byte on a busy 2-core machine (measured), longer than a whole re-push.
 * Liftoff's code parses as fast for our traffic (bodies are passed through, not scanned), so the tier-up is
 * switched off before the module is compiled.
 */
function noWasmTierUp(): void {
  if (wasmTierUpOff) return;
  wasmTierUpOff = true;
  v8.setFlagsFromString('--liftoff-only');
}

/** Per-host connection pools, schemes and policies for one operation. */
export class Transport {
  private readonly agents = new Map<string, Agent>();
  private readonly schemes = new Map<string, 'https' | 'http'>();
  private readonly probes = new Map<string, Promise<'https' | 'http'>>();
  constructor(readonly options: RegistryOptions = {}) {
    noWasmTierUp();
  }

  /** The base URL of a registry host, probing HTTPS first and falling back to HTTP for insecure hosts. */
  async base(host: string): Promise<URL> {
    let scheme = this.schemes.get(host);
    if (!scheme) {
      let probe = this.probes.get(host);
      if (!probe) {
        // one probe per host, shared by the requests that start together (a push HEADs its blobs in parallel)
        probe = this.isInsecure(host) && !tlsFor(host, this.options) ? probeTls(host, this.options.signal) : Promise.resolve('https' as const);
        this.probes.set(host, probe);
      }
      scheme = await probe;
      this.schemes.set(host, scheme);
    }
    return new URL(`${scheme}://${host}`);
  }

  /**
   * The undici Agent for an origin. HTTPS origins get their certs.d material, else the default roots plus the
   * deferred extra CAs (util/tls.ts). Nothing TLS is loaded for plain-HTTP origins.
   */
  agent(url: URL): Agent {
    let a = this.agents.get(url.origin);
    if (!a) {
      let tlsOptions: object = {};
      if (url.protocol === 'https:') {
        const t = tlsFor(url.host, this.options);
        const ca = t?.ca ?? trustedCas();
        tlsOptions = { ...(t ?? {}), ...(ca ? { ca } : {}) };
      }
      a = new Agent({ connect: { ...tlsOptions, timeout: this.options.timeoutMs ?? 30_000 }, connections: 16, keepAliveTimeout: 10_000 });
      this.agents.set(url.origin, a);
    }
    return a;
  }

  private isInsecure(host: string): boolean {
    return isLoopback(host) || (this.options.insecureRegistries ?? []).includes(host);
  }

  /** Sends a request, retrying 5xx/429/connection errors with backoff and following redirects (Authorization only to the same origin). */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const retries = req.retry === false ? 0 : this.options.retries ?? 4;
    let url = req.url;
    let headers = { ...req.headers };
    let attempt = 0;
    for (let redirects = 0; ; ) {
      let res: HttpResponse;
      try {
        res = await apiRequest.call(this.agent(url), {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: req.method as Dispatcher.HttpMethod,
          headers,
          body: req.body?.(),
          signal: this.options.signal,
          // undici closes the connection after every HEAD unless told not to; a registry sends no body to a HEAD
          reset: false,
          // the body stream buffers up to 1 MiB before it pauses the socket (default 64 KiB): fewer stalls
          highWaterMark: 1 << 20,
          headersTimeout: this.options.timeoutMs ?? 60_000,
          bodyTimeout: this.options.timeoutMs ?? 60_000,
        });
      } catch (e) {
        if (this.options.signal?.aborted) throw new TsbuildError('TSB_CANCELLED', `${req.method} ${url.host}: cancelled`, { cause: e });
        if (req.idempotent !== false && attempt < retries && isConnectionError(e)) {
          await sleep(this.backoff(attempt++));
          continue;
        }
        throw networkError(req.method, url, e);
      }
      const status = res.statusCode;
      if ((status === 429 || status === 502 || status === 503 || status === 504 || status === 500) && attempt < retries) {
        await res.body.dump();
        await sleep(retryAfter(res.headers['retry-after']) ?? this.backoff(attempt));
        attempt++;
        continue;
      }
      const location = res.headers.location;
      if (status >= 300 && status < 400 && status !== 304 && typeof location === 'string' && redirects < 10) {
        await res.body.dump();
        const next = new URL(location, url);
        if (next.origin !== url.origin) {
          if (url.protocol === 'https:' && next.protocol === 'http:') throw new TsbuildError('TSB_NETWORK', `refusing redirect from ${url.origin} to plain HTTP ${next.origin}`);
          headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
        }
        url = next;
        redirects++;
        continue;
      }
      return res;
    }
  }

  private backoff(attempt: number): number {
    const base = this.options.backoffMs ?? 200;
    return Math.min(base * 2 ** attempt, 10_000) * (0.75 + Math.random() / 2);
  }

  /** Closes every connection pool. */
  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
    this.agents.clear();
  }
}

/** Seconds or an HTTP date, in ms (capped at 60 s); undefined when absent or unreadable. */
export function retryAfter(v: string | string[] | undefined): number | undefined {
  if (typeof v !== 'string') return undefined;
  const s = Number(v);
  const ms = Number.isFinite(s) ? s * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 60_000) : undefined;
}

const CONN_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'ECONNABORTED']);

/** True for a dropped or refused connection or a timeout: worth a retry or a resume. */
export function isConnectionError(e: unknown): boolean {
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    const code = (c as { code?: string }).code;
    if (code && CONN_CODES.has(code)) return true;
    if (c instanceof Error && /other side closed|socket hang up|terminated/i.test(c.message)) return true;
  }
  return false;
}

function networkError(method: string, url: URL, e: unknown): TsbuildError {
  const msg = e instanceof Error ? e.message : String(e);
  return new TsbuildError('TSB_NETWORK', `${method} ${url.origin}${url.pathname}: ${msg}`, { cause: e, hint: 'check that the registry is reachable; for a plain-HTTP registry pass --insecure-registry HOST' });
}

/** Where the user's home config lives (for docker config). */
export function homeDir(): string {
  return process.env.HOME || os.homedir();
}
