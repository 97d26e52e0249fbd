import { expandWord, type Instruction } from '../dockerfile/index.js';

/** Build args every build defines (BuildKit's automatic platform args and the proxy args). */
export const PREDEFINED_ARGS = [
  'TARGETPLATFORM', 'TARGETOS', 'TARGETARCH', 'TARGETVARIANT',
  'BUILDPLATFORM', 'BUILDOS', 'BUILDARCH', 'BUILDVARIANT',
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy',
  'ALL_PROXY', 'all_proxy',
];

/**
 * The variable names a raw word reads, found by running the real expander with a recording environment.
 * Names read through a default (`${X:-d}`, `${X-d}`, `${X:+a}`, `${X+a}`, `${X:?m}`, `${X?m}`) are left out:
 * an unset X is expected there.
 */
export function variablesIn(raw: string, escape: '\\' | '`' = '\\'): string[] {
  if (!raw.includes('$')) return [];
  const seen = new Set<string>();
  const recorder = { get: (name: string) => (seen.add(name), 'x') } as unknown as ReadonlyMap<string, string>;
  try {
    expandWord(raw, recorder, escape);
  } catch {
    return []; // a malformed word is the parser's business, not a lint finding
  }
  return [...seen].filter((n) => !new RegExp(`\\$\\{${n}:?[-+?]`).test(raw));
}

/** The raw words of an instruction that BuildKit expands at build time (RUN, CMD, ENTRYPOINT: the shell does). */
export function expandedWords(i: Instruction): string[] {
  const flagValues = Object.values(i.flags).flat();
  switch (i.kind) {
    case 'COPY':
    case 'ADD':
      return [...i.sources, i.dest, ...flagValues];
    case 'ENV':
    case 'LABEL':
      return i.pairs.flatMap((p) => [p.key, p.value]);
    case 'ARG':
      return i.args.flatMap((a) => (a.defaultValue === undefined ? [] : [a.defaultValue]));
    case 'WORKDIR':
      return [i.path];
    case 'USER':
      return [i.user];
    case 'EXPOSE':
      return i.ports;
    case 'VOLUME':
      return i.paths;
    case 'STOPSIGNAL':
      return [i.signal];
    case 'FROM':
      return [i.image, ...flagValues];
    default:
      return [];
  }
}
