import { TsbuildError, readFileInRoot } from '../util/index.js';
import type { ProcessUser } from './spec.js';

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const f = l.split(':');
    return { name: f[0] ?? '', uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '/' };
  }).filter((e) => Number.isInteger(e.uid) && Number.isInteger(e.gid));
}

function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const f = l.split(':');
    return { name: f[0] ?? '', gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) };
  }).filter((e) => Number.isInteger(e.gid));
}

const NUMERIC = /^\d+$/;

/**
 * Resolves a Dockerfile/`docker run` user spec ("name", "uid", "name:group", "uid:gid", "" = root)
 * against the rootfs's /etc/passwd and /etc/group, as docker does. Numeric ids need no entry.
 */
export function resolveUser(rootfs: string | { readFile(p: string): Buffer | undefined }, spec: string): ProcessUser & { home: string } {
  const [userPart = '', groupPart] = spec === '' ? ['root'] : spec.split(':', 2);
  const read = (p: string) => (typeof rootfs === 'string' ? readFileInRoot(rootfs, p) : rootfs.readFile(p));
  const passwd = parsePasswd(read('/etc/passwd')?.toString('utf8') ?? '');
  const groups = parseGroup(read('/etc/group')?.toString('utf8') ?? '');
  let uid: number;
  let gid: number;
  let home = '/';
  let name: string | undefined;
  const byName = passwd.find((p) => p.name === userPart);
  const byId = NUMERIC.test(userPart) ? passwd.find((p) => p.uid === Number(userPart)) : undefined;
  if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    gid = byId?.gid ?? 0;
    home = byId?.home ?? '/';
    name = byId?.name;
  } else if (byName) {
    ({ uid, gid, home } = byName);
    name = byName.name;
  } else if (userPart === 'root') {
    uid = 0;
    gid = 0;
  } else {
    throw new TsbuildError('TSB_USER_UNKNOWN', `unable to find user ${userPart}: no matching entries in passwd file`);
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((e) => e.name === groupPart);
      if (!g) throw new TsbuildError('TSB_USER_UNKNOWN', `unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  const additionalGids = groupPart === undefined && name
    ? groups.filter((g) => g.members.includes(name!) && g.gid !== gid).map((g) => g.gid)
    : [];
  return { uid, gid, additionalGids, home };
}
