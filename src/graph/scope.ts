/** Variable scope of a stage at one point: ARGs declared so far and the image ENV. ENV wins over ARG. */
export class Scope {
  readonly env = new Map<string, string>();
  readonly args = new Map<string, string | undefined>();

  /** Scope seeded with an image's `Env` list. */
  static fromEnv(env: readonly string[] | undefined): Scope {
    const s = new Scope();
    for (const kv of env ?? []) {
      const eq = kv.indexOf('=');
      if (eq > 0) s.env.set(kv.slice(0, eq), kv.slice(eq + 1));
      else s.env.set(kv, '');
    }
    return s;
  }

  /** The variables visible to expansion in Dockerfile words. */
  forExpansion(): Map<string, string> {
    const m = new Map<string, string>();
    for (const [k, v] of this.args) if (v !== undefined) m.set(k, v);
    for (const [k, v] of this.env) m.set(k, v);
    return m;
  }

  /** The image's Env list (ARGs excluded). */
  envList(): string[] {
    return [...this.env].map(([k, v]) => `${k}=${v}`);
  }

  /**
   * The environment of a RUN: image ENV plus declared ARGs that ENV does not shadow, plus the proxy
   * build-args, which BuildKit passes to every RUN without an ARG line.
   */
  runEnv(proxies: Record<string, string> = {}): string[] {
    const out = this.envList();
    for (const [k, v] of this.args) if (v !== undefined && !this.env.has(k)) out.push(`${k}=${v}`);
    for (const [k, v] of Object.entries(proxies)) if (!this.env.has(k) && !this.args.has(k)) out.push(`${k}=${v}`);
    return out;
  }

  /**
   * BuildKit's history prefix for a RUN: `|N k=v ... ` over the declared ARGs in declaration order, each
   * with the value the RUN sees (ENV wins); empty when no ARG is declared.
   */
  runHistoryPrefix(): string {
    if (this.args.size === 0) return '';
    const parts = [...this.args].map(([k, v]) => `${k}=${this.env.get(k) ?? v ?? ''}`);
    return `|${parts.length} ${parts.join(' ')} `;
  }
}

/** Build-args BuildKit knows without an ARG line: proxies reach every RUN and stay out of history. */
export const PROXY_ARGS = new Set(
  ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((n) => [n, n.toLowerCase()]),
);

/** The automatic platform ARGs (values for this host): in scope for FROM, and in a stage once declared. */
export function platformArgs(p: { os: string; architecture: string; variant?: string }): Record<string, string> {
  const platform = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  const out: Record<string, string> = {};
  for (const prefix of ['TARGET', 'BUILD']) {
    out[`${prefix}PLATFORM`] = platform;
    out[`${prefix}OS`] = p.os;
    out[`${prefix}ARCH`] = p.architecture;
    out[`${prefix}VARIANT`] = p.variant ?? '';
  }
  return out;
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
