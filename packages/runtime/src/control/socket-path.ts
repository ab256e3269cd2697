import { createHash } from 'node:crypto';
import { lstatSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { currentUid, denied, directoryProblem, preparePrivateDirectory } from './socket-owner.js';

/** The node name of `luact run` without `--node`. */
export const DEFAULT_NODE_NAME = 'local';

/** What decides where a user's control sockets live (each part defaults to this process's). */
export interface SocketPlace {
  /** Where `XDG_RUNTIME_DIR` is read. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The temporary directory of the fallback. */
  readonly tmpdir?: string;
  readonly uid?: number;
}

/**
 * The private directory of the current user's control sockets: `$XDG_RUNTIME_DIR/luact` when
 * that variable names a private directory of the user's (as the login manager makes it), else
 * `<tmpdir>/luact-<uid>`. Not in the application directory, where a socket would wake file
 * watchers.
 */
export function controlSocketDir(place: SocketPlace = {}): string {
  const uid = place.uid ?? currentUid();
  const runtime = usableRuntimeDir(place.env ?? process.env, uid);
  return runtime !== undefined
    ? path.join(runtime, 'luact')
    : path.join(place.tmpdir ?? tmpdir(), `luact-${uid}`);
}

/**
 * Where the node `name` running the application in `dir` listens for `luact ps`, `services`
 * and `workflow`: a socket in controlSocketDir named by a hash of both, so any shell of the
 * same user finds it from the directory alone.
 */
export function controlSocketPath(
  dir: string,
  name: string = DEFAULT_NODE_NAME,
  place: SocketPlace = {},
): string {
  const key = createHash('sha256')
    .update(`${path.resolve(dir)}\0${name}`)
    .digest('hex')
    .slice(0, 16);
  return path.join(controlSocketDir(place), `${key}.sock`);
}

/**
 * controlSocketPath, once its directory is known to be private and the user's: created
 * (mode 0700) when `create` (the node about to listen), else checked if it exists (a client:
 * no directory simply means no node). PERMISSION_DENIED says what is wrong and how to fix it.
 */
export async function defaultControlSocket(
  dir: string,
  name: string,
  options: SocketPlace & { readonly create: boolean },
): Promise<string> {
  const socket = controlSocketPath(dir, name, options);
  const socketDir = path.dirname(socket);
  const uid = options.uid ?? currentUid();
  if (options.create) {
    await preparePrivateDirectory(socketDir, uid);
    return socket;
  }
  const stats = await lstat(socketDir).catch(() => undefined);
  const problem = stats && directoryProblem(socketDir, stats, 'private', uid);
  if (problem) throw denied(problem);
  return socket;
}

/** `$XDG_RUNTIME_DIR` if it names a private directory of the user's (an absolute path). */
function usableRuntimeDir(
  env: Readonly<Record<string, string | undefined>>,
  uid: number,
): string | undefined {
  const dir = env.XDG_RUNTIME_DIR;
  if (dir === undefined || !path.isAbsolute(dir)) return undefined;
  try {
    return directoryProblem(dir, lstatSync(dir), 'private', uid) === undefined ? dir : undefined;
  } catch {
    return undefined;
  }
}
