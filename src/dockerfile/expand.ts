import { TsbuildError } from '../util/index.js';
import { Lexer, type Output } from './lexer.js';
import { LexError } from './pattern.js';

/** Variables visible to expansion: a Map or a plain record (own properties only). */
export type ExpansionEnv = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

function lookupIn(env: ExpansionEnv): (name: string) => string | undefined {
  if (typeof (env as ReadonlyMap<string, string>).get === 'function') {
    const map = env as ReadonlyMap<string, string>;
    return (name) => map.get(name);
  }
  const rec = env as Readonly<Record<string, string>>;
  return (name) => (Object.hasOwn(rec, name) ? rec[name] : undefined);
}

function lex(raw: string, env: ExpansionEnv, escape: '\\' | '`'): Output {
  try {
    return new Lexer(raw, lookupIn(env), escape).run(undefined, false);
  } catch (e) {
    if (!(e instanceof LexError)) throw e;
    throw new TsbuildError('TSB_DOCKERFILE_SYNTAX', `failed to process "${raw}": ${e.message}`, { cause: e });
  }
}

/**
 * Expand one raw word like BuildKit: quotes removed (single literal, double expanding), escapes applied, `$VAR`,
 * `${VAR}` and the `:-` `-` `:+` `+` `:?` `?` `#` `##` `%` `%%` `/` `//` modifiers; unset variables give ''.
 * Throws TsbuildError TSB_DOCKERFILE_SYNTAX (no location) on malformed input or a failed `${VAR?msg}`.
 */
export function expandWord(raw: string, env: ExpansionEnv, escape: '\\' | '`' = '\\'): string {
  return lex(raw, env, escape).text;
}

/** Expand like expandWord, then split into words on unquoted blanks (for EXPOSE/VOLUME-style lists). */
export function expandWords(raw: string, env: ExpansionEnv, escape: '\\' | '`' = '\\'): string[] {
  return lex(raw, env, escape).finish();
}
