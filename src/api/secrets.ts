import * as path from 'node:path';
import type { SecretSource } from '../ops/index.js';
import { TsbuildError } from '../util/index.js';

function fields(value: string, flag: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) m.set(part.trim(), '');
    else m.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  if (!m.has('id') && !m.has('src') && !m.has('source') && !m.has('env')) throw new TsbuildError('TSB_USAGE', `invalid ${flag} "${value}"`);
  return m;
}

/** Parses buildx's `--secret id=ID[,src=PATH|,env=VAR][,type=file|env]`; like buildx, a bare id reads $ID or ./ID. */
export function parseSecret(value: string): [string, SecretSource] {
  const f = fields(value, '--secret');
  const id = f.get('id') ?? '';
  if (id === '') throw new TsbuildError('TSB_USAGE', `--secret ${value}: id is required`, { hint: 'use --secret id=mytoken,src=./token.txt or --secret id=mytoken,env=TOKEN' });
  const src = f.get('src') ?? f.get('source');
  const env = f.get('env');
  const type = f.get('type');
  if (type === 'env' || (env !== undefined && src === undefined)) return [id, { kind: 'env', name: env ?? src ?? id }];
  if (src !== undefined) return [id, { kind: 'file', path: path.resolve(src) }];
  return process.env[id] !== undefined ? [id, { kind: 'env', name: id }] : [id, { kind: 'file', path: path.resolve(id) }];
}

/** Parses `--ssh default|ID[=SOCKET|KEY[,KEY…]]`; `default` without paths means $SSH_AUTH_SOCK. */
export function parseSsh(value: string): [string, string[]] {
  const eq = value.indexOf('=');
  const id = eq < 0 ? value : value.slice(0, eq);
  const paths = eq < 0 ? [] : value.slice(eq + 1).split(',').filter(Boolean).map((p) => path.resolve(p));
  if (id === '') throw new TsbuildError('TSB_USAGE', `invalid --ssh "${value}"`);
  if (paths.length === 0) {
    const sock = process.env.SSH_AUTH_SOCK;
    if (!sock) throw new TsbuildError('TSB_USAGE', `--ssh ${id}: no paths given and SSH_AUTH_SOCK is not set`);
    paths.push(sock);
  }
  return [id, paths];
}
