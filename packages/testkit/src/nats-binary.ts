import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NatsServerError } from './errors.js';

/** Debian installs to /usr/sbin, which is often missing from a non-root user's PATH. */
const FALLBACK_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/sbin'];

const INSTALL_HINT =
  'nats-server is not installed. Install it with `bash scripts/ensure-nats-server.sh` ' +
  '(from the luact repository root) or `sudo apt-get install -y nats-server`, ' +
  'or download a release from https://github.com/nats-io/nats-server/releases and put it on PATH ' +
  '(or set NATS_SERVER_BIN to its path).';

/**
 * Absolute path of the nats-server executable: `explicit`, else `$NATS_SERVER_BIN`, else the first
 * `nats-server` on PATH or in the sbin directories.
 */
export function findNatsServerBinary(explicit?: string): string {
  const chosen = explicit ?? process.env.NATS_SERVER_BIN;
  if (chosen !== undefined && chosen !== '') {
    if (isExecutable(chosen)) return chosen;
    throw new NatsServerError(
      'not-installed',
      `${chosen} is not an executable file. ${INSTALL_HINT}`,
    );
  }
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new NatsServerError('not-installed', INSTALL_HINT);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
