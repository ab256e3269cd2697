import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The node name of `luact run` without `--node`. */
export const DEFAULT_NODE_NAME = 'local';

/**
 * Where the node `name` running the application in `dir` listens for `luact ps` and `luact
 * services`: a Unix socket in the temporary directory (not in the application, where it would
 * wake file watchers), named by a hash of both so any shell finds it from the directory alone.
 */
export function controlSocketPath(dir: string, name: string = DEFAULT_NODE_NAME): string {
  const key = createHash('sha256')
    .update(`${path.resolve(dir)}\0${name}`)
    .digest('hex')
    .slice(0, 16);
  return path.join(tmpdir(), `luact-${key}.sock`);
}
