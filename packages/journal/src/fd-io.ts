import fs from 'node:fs';

/**
 * File I/O on plain descriptors. Opening, closing, writing and truncating call the system
 * directly (synchronously): a write of a few kilobytes takes microseconds that way, while a
 * round trip through libuv's thread pool takes about a hundred. fsync (a millisecond on a disk)
 * stays asynchronous, off the event loop.
 */

export function openFile(path: string, flags: 'r' | 'r+' | 'w+'): Promise<number> {
  return attempt(() => fs.openSync(path, flags));
}

export function closeFile(fd: number): Promise<void> {
  return attempt(() => fs.closeSync(fd));
}

/** Writes all of `bytes` at `position` (a short write continues where it stopped). */
export function writeAllAt(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length)
    written += fs.writeSync(fd, bytes, written, bytes.length - written, position + written);
}

export function truncateFile(fd: number, length: number): Promise<void> {
  return attempt(() => fs.ftruncateSync(fd, length));
}

/** Data and size on disk; fdatasync skips metadata the journal never reads (times). */
export function syncData(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export async function syncDirectory(path: string): Promise<void> {
  const fd = await openFile(path, 'r');
  try {
    await new Promise<void>((resolve, reject) => {
      fs.fsync(fd, (error) => (error ? reject(error) : resolve()));
    });
  } finally {
    await closeFile(fd);
  }
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** A synchronous call as a promise: its value, or its error as a rejection. */
function attempt<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}
