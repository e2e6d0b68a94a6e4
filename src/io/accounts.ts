import { readFileSync } from 'node:fs';

/** The name `/etc/passwd` (users) or `/etc/group` gives id `id`, or null (no such entry, or unreadable). */
function nameIn(file: string, id: number): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [name, , field] = line.split(':');
    if (name && field !== undefined && Number(field) === id && field.trim() !== '') return name;
  }
  return null;
}

/** The user name `/etc/passwd` gives `uid`, or null. */
export function nameOfUser(uid: number): string | null {
  return nameIn('/etc/passwd', uid);
}

/** The group name `/etc/group` gives `gid`, or null. */
export function nameOfGroup(gid: number): string | null {
  return nameIn('/etc/group', gid);
}

/**
 * An owner as a person reads it: `user:group (uid 999, gid 0)` with the names the local
 * account files give (the number alone where there is none). For error messages only: it
 * reads those files each time.
 */
export function ownerText(uid: number, gid: number): string {
  const user = nameIn('/etc/passwd', uid) ?? String(uid);
  const group = nameIn('/etc/group', gid) ?? String(gid);
  return `${user}:${group} (uid ${uid}, gid ${gid})`;
}

/** The same owner as `chown` takes it: names where known, else numbers. */
export function chownSpec(uid: number, gid: number): string {
  return `${nameIn('/etc/passwd', uid) ?? uid}:${nameIn('/etc/group', gid) ?? gid}`;
}
