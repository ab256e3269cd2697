import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { LuactError } from '@luact/core';

/**
 * Who may own what around a control socket. A socket is only as private as its directory:
 * whoever can write there can put their own socket in its place and receive the commands (and
 * signal payloads) meant for the node, or keep the node from starting. So both ends check,
 * before listening or connecting, that the directory and the socket belong to the current user
 * and that nobody else can write into the directory.
 */

/**
 * `private`: only its owner may enter it (the default socket directory, mode 0700);
 * `owned`: only its owner may write into it (an explicit `--control` path's directory).
 */
export type DirectoryRule = 'private' | 'owned';

/** The current user's uid (-1 where the platform has none, e.g. Windows: no owners to check). */
export function currentUid(): number {
  return process.getuid?.() ?? -1;
}

/** Why `dir` (with these stats) cannot hold a control socket under `rule`, if it cannot. */
export function directoryProblem(
  dir: string,
  stats: Stats,
  rule: DirectoryRule,
  uid: number,
): string | undefined {
  if (!stats.isDirectory()) return `${dir} is not a directory (${fileKind(stats)})`;
  if (uid < 0) return undefined;
  if (stats.uid !== uid) {
    return (
      `${dir} belongs to uid ${stats.uid}, not to you (uid ${uid}): another user could take ` +
      `the node's socket there; remove it (as its owner or root) or name a socket elsewhere with --control`
    );
  }
  if (rule === 'private' && (stats.mode & 0o077) !== 0) {
    return `${dir} is open to other users (mode ${modeText(stats)}); make it private with: chmod 700 ${dir}`;
  }
  if (rule === 'owned' && (stats.mode & 0o022) !== 0) {
    return (
      `${dir} can be written by other users (mode ${modeText(stats)}), who could replace the ` +
      `socket; use a directory only you can write to (chmod go-w ${dir})`
    );
  }
  return undefined;
}

/** Why the file at `socketPath` is not a socket of this user's, if it is not. */
export function socketProblem(socketPath: string, stats: Stats, uid: number): string | undefined {
  if (!stats.isSocket()) return `${socketPath} is not a socket (${fileKind(stats)})`;
  if (uid >= 0 && stats.uid !== uid) {
    return `${socketPath} belongs to uid ${stats.uid}, not to you (uid ${uid}): it is not your node's socket`;
  }
  return undefined;
}

/** Refuses, as PERMISSION_DENIED, a directory that cannot hold a control socket under `rule`. */
export async function checkSocketDirectory(
  dir: string,
  rule: DirectoryRule,
  uid: number,
): Promise<void> {
  const problem = directoryProblem(dir, await lstat(dir), rule, uid);
  if (problem) throw denied(problem);
}

/**
 * Makes `dir` the private (0700) directory of this user's sockets, creating it when missing,
 * and refuses one that is there already but not private or not the user's: it is never
 * repaired, since someone else may have made it.
 */
export async function preparePrivateDirectory(dir: string, uid: number): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
    // The umask may have taken bits away; the owner needs all three.
    await chmod(dir, 0o700);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw denied(
        `cannot create the control socket directory ${dir}: ${(error as Error).message}`,
      );
    }
  }
  await checkSocketDirectory(dir, 'private', uid);
}

export function denied(message: string): LuactError {
  return new LuactError('PERMISSION_DENIED', message, { retryable: false });
}

/** "a regular file", "a directory", … for messages. */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isSocket()) return 'a socket';
  if (stats.isFIFO()) return 'a named pipe';
  return 'a device';
}

/** `0777`, or `1777` with the sticky bit. */
function modeText(stats: Stats): string {
  return `0${(stats.mode & 0o7777).toString(8).padStart(3, '0')}`.replace(/^0(\d{4})$/, '$1');
}
