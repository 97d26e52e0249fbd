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

  /** The environment of a RUN: image ENV plus declared ARGs that ENV does not shadow. */
  runEnv(): string[] {
    const out = this.envList();
    for (const [k, v] of this.args) if (v !== undefined && !this.env.has(k)) out.push(`${k}=${v}`);
    return out;
  }
}

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
