import { TsbuildError } from '../util/index.js';

/** A parsed image reference: docker.io/library/busybox:latest style, normalized. */
export interface Reference {
  /** Registry host, e.g. "docker.io" or "127.0.0.1:5000". */
  registry: string;
  /** Repository path, e.g. "library/busybox". */
  repository: string;
  tag?: string;
  digest?: string;
}

const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/** Parses a user-typed image name the way docker does; adds ":latest" when neither tag nor digest is given. */
export function parseReference(input: string, options: { defaultTag?: boolean } = {}): Reference {
  const bad = (why: string) => new TsbuildError('TSB_REFERENCE_INVALID', `invalid image reference "${input}": ${why}`, { hint: 'use NAME[:TAG] or NAME@sha256:DIGEST, lowercase' });
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad('bad digest');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad('bad tag');
  }
  if (rest === '') throw bad('empty name');
  let registry = 'docker.io';
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !repository.includes('/')) repository = `library/${repository}`;
  for (const c of repository.split('/')) if (!NAME_COMPONENT.test(c)) throw bad(`bad name component "${c}"`);
  if (tag === undefined && digest === undefined && options.defaultTag !== false) tag = 'latest';
  const ref: Reference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The short name users type: docker.io/library/ dropped (docker's "familiar" form). */
export function familiarName(ref: Reference): string {
  let name = ref.registry === 'docker.io' ? ref.repository.replace(/^library\//, '') : `${ref.registry}/${ref.repository}`;
  if (ref.registry === 'docker.io' && !ref.repository.startsWith('library/')) name = ref.repository;
  if (ref.tag) name += `:${ref.tag}`;
  if (ref.digest) name += `@${ref.digest}`;
  return name;
}

/** Canonical stored name of a user-typed reference ("busybox" -> "busybox:latest"). */
export function normalizeName(input: string): string {
  return familiarName(parseReference(input));
}

/** The fully qualified form, docker.io/library/busybox:latest. */
export function fullName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}
