import type { Readable } from 'node:stream';
import { TsbuildError } from '../util/index.js';
import { type Challenge, type Token, basicHeader, fetchToken, mergeScopes, parseChallenge } from './auth.js';
import { getCredentials } from './keychain.js';
import { type HttpResponse, Transport, registryHost } from './transport.js';
import type { Credentials, RegistryOptions } from './types.js';

/** Request options of RegistryClient.fetch. */
export interface FetchOptions {
  headers?: Record<string, string>;
  body?: () => Readable | Buffer | string;
  idempotent?: boolean;
  retry?: boolean;
}

/** A session with one registry: resolves its endpoint, answers auth challenges, caches tokens per scope set. */
export class RegistryClient {
  readonly host: string;
  private readonly scopes = new Set<string>();
  private challenge: Challenge | undefined;
  private token: Token | undefined;
  private tokenScopes = '';
  private creds: Credentials | undefined | null = null;

  constructor(
    readonly registry: string,
    readonly transport: Transport,
    credentials?: Credentials,
  ) {
    this.host = registryHost(registry);
    if (credentials) this.creds = credentials;
  }

  /** Opens a client for `registry` with its own transport (close it when done). */
  static open(registry: string, o: RegistryOptions = {}, credentials?: Credentials): RegistryClient {
    return new RegistryClient(registry, new Transport(o), credentials);
  }

  /** Asks for `actions` on a repository in the next token (pull, push; mount sources need pull). */
  addScope(repository: string, actions: string[]): void {
    this.scopes.add(`repository:${repository}:${actions.join(',')}`);
  }

  private async credentials(): Promise<Credentials | undefined> {
    if (this.creds === null) this.creds = await getCredentials(this.registry, this.transport.options);
    return this.creds;
  }

  private async authorization(force: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const c = await this.credentials();
      return c ? basicHeader(c) : undefined;
    }
    if (ch.scheme !== 'bearer') return undefined;
    const scopes = mergeScopes(this.scopes);
    const key = scopes.join(' ');
    if (force || !this.token || this.token.expires < Date.now() || key !== this.tokenScopes) {
      this.token = await fetchToken(this.transport, ch, scopes, await this.credentials());
      this.tokenScopes = key;
    }
    return this.token.header;
  }

  /** An absolute URL on the registry for a path like /v2/NAME/blobs/DIGEST (or a Location it returned). */
  async url(pathOrUrl: string): Promise<URL> {
    return new URL(pathOrUrl, await this.transport.base(this.host));
  }

  /** Sends a request with auth: on 401 it takes the challenge, gets a (new) token or Basic header, and retries once. */
  async fetch(method: string, pathOrUrl: string, o: FetchOptions = {}): Promise<HttpResponse> {
    const url = await this.url(pathOrUrl);
    let auth = await this.authorization(false);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { 'user-agent': 'tsbuild/0.1', ...o.headers };
      if (auth && url.host === this.host) headers.authorization = auth;
      const res = await this.transport.send({ method, url, headers, body: o.body, idempotent: o.idempotent ?? method !== 'PATCH', retry: o.retry });
      if (res.statusCode !== 401 || attempt > 0) return res;
      const ch = parseChallenge(res.headers['www-authenticate']);
      await res.body.dump();
      if (!ch) return this.fail401(url, 'without a WWW-Authenticate challenge');
      if (ch.params.scope) for (const s of ch.params.scope.split(' ')) this.scopes.add(s);
      const hadAuth = auth !== undefined;
      this.challenge = ch;
      auth = await this.authorization(true);
      if (auth === undefined || (hadAuth && ch.scheme === 'basic')) return this.fail401(url, ch.scheme === 'basic' ? 'for Basic auth' : '');
    }
  }

  private fail401(url: URL, why: string): never {
    const who = this.creds ? `as "${this.creds.username}"` : 'anonymously';
    throw new TsbuildError('TSB_REGISTRY_AUTH', `${url.host}: unauthorized ${who} ${why}`.trim(), { hint: `run tsbuild login ${this.registry}` });
  }

  /** Checks that the registry accepts these credentials (GET /v2/ with auth), as docker login does. */
  async ping(): Promise<void> {
    const res = await this.fetch('GET', '/v2/');
    await res.body.dump();
    if (res.statusCode === 401 || res.statusCode === 403) this.fail401(await this.url('/v2/'), '');
    if (res.statusCode !== 200) throw new TsbuildError('TSB_NETWORK', `${this.host}/v2/: HTTP ${res.statusCode}: not a registry`);
  }

  /** Closes the connections. */
  close(): Promise<void> {
    return this.transport.close();
  }
}
