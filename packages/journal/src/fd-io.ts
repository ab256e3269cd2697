import fs from 'node:fs';

/**
 * File I/O on plain descriptors. Opening, closing, writing and truncating call the system
 * directly (synchronously): an append of a few hundred bytes takes microseconds that way,
 * while a round trip through libuv's thread pool takes about a hundred, and a workflow step
 * makes several appends. Reading whole files and fsync (milliseconds on a disk) stay
 * asynchronous, off the event loop.
 */

export function openFile(path: string, flags: 'r' | 'r+' | 'w+'): Promise<number> {
  return attempt(() => fs.openSync(path, flags));
}

export function closeFile(fd: number): Promise<void> {
  return attempt(() => fs.closeSync(fd));
}

/** Writes all of `bytes` at `position` (a short write continues where it stopped). */
export function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return attempt(() => {
    let written = 0;
    while (written < bytes.length)
      written += fs.writeSync(fd, bytes, written, bytes.length - written, position + written);
  });
}

/** Moves a file within the file system (atomically). */
export function renameFile(from: string, to: string): Promise<void> {
  return attempt(() => fs.renameSync(from, to));
}

/** A synchronous call as a promise: its value, or its error as a rejection. */
function attempt<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (error) {
    return Promise.reject(error);
  }
}

/** The whole file, or its first `limit` bytes. */
export async function readFileAt(fd: number, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const size = Math.min(await fileSize(fd), limit);
  const bytes = Buffer.allocUnsafe(size);
  let read = 0;
  while (read < size) {
    const count = await new Promise<number>((resolve, reject) => {
      fs.read(fd, bytes, read, size - read, read, (error, n) =>
        error ? reject(error) : resolve(n),
      );
    });
    if (count === 0) break; // the file shrank meanwhile
    read += count;
  }
  return bytes.subarray(0, read);
}

export function fileSize(fd: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size)));
  });
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

export function pathExists(path: string): Promise<boolean> {
  try {
    fs.accessSync(path);
    return Promise.resolve(true);
  } catch (error) {
    return isMissing(error) ? Promise.resolve(false) : Promise.reject(error);
  }
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
