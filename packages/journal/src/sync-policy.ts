import { LuactError } from '@luact/core';
import { isMissing, syncData, syncDirectory } from './fd-io.js';
import type { FilePool } from './file-pool.js';

/**
 * When appended records reach the disk:
 * - `always`: every append is fsynced (fdatasync) before it resolves;
 * - `batch`: an append resolves once the OS has it (it survives the process being killed);
 *   written files are fsynced every `syncIntervalMs`, so a power loss can lose that window;
 * - `never`: the OS writes back when it likes.
 * Shutting the journal down fsyncs everything in every mode.
 */
export type FsyncPolicy = 'always' | 'batch' | 'never';

export const DEFAULT_SYNC_INTERVAL_MS = 100;

export function describeDurability(policy: FsyncPolicy, syncIntervalMs: number): string {
  switch (policy) {
    case 'always':
      return 'fsync=always (each append on disk before it resolves)';
    case 'batch':
      return `fsync=batch (${syncIntervalMs} ms; survives a killed process, a power loss can lose the last ${syncIntervalMs} ms)`;
    case 'never':
      return 'fsync=never (survives a killed process; the OS decides when data reaches the disk)';
    default: {
      const unknown: never = policy;
      throw new LuactError('INVALID', `unknown fsync policy ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * Carries out an fsync policy for one journal: syncs at once (`always`) or remembers what was
 * written and syncs it later (`batch` on a timer, every policy on `flush`). A failed
 * background sync is kept per file, since the records it covered may be lost: the journal
 * refuses further appends to that file rather than build on them.
 */
export class SyncPolicy {
  private files = new Set<string>();
  private directories = new Set<string>();
  private readonly failures = new Map<string, LuactError>();
  private flushing: Promise<void> = Promise.resolve();
  private flushPending = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly policy: FsyncPolicy,
    syncIntervalMs: number,
    private readonly pool: FilePool,
  ) {
    if (policy === 'batch') {
      this.timer = setInterval(() => {
        if (!this.flushPending) void this.schedule();
      }, syncIntervalMs);
      this.timer.unref(); // a journal alone does not keep the process alive
    }
  }

  /** `fd` (the file at `path`) was written. */
  async written(path: string, fd: number): Promise<void> {
    if (this.policy !== 'always') {
      this.files.add(path);
      return;
    }
    try {
      await syncData(fd);
    } catch (error) {
      // After a failed fsync the kernel may drop the dirty pages: retrying would "succeed".
      const failure = syncFailure(path, error);
      this.failures.set(path, failure);
      throw failure;
    }
  }

  /** Files were created, renamed or deleted in `directory`. */
  async directoryChanged(directory: string): Promise<void> {
    if (this.policy === 'always') await syncDirectory(directory);
    else this.directories.add(directory);
  }

  moved(from: string, to: string): void {
    if (this.files.delete(from)) this.files.add(to);
    const failure = this.failures.get(from);
    if (failure) {
      this.failures.delete(from);
      this.failures.set(to, failure);
    }
  }

  forget(path: string): void {
    this.files.delete(path);
    this.failures.delete(path);
  }

  /** Why records written to `path` may not have reached the disk, if a sync failed. */
  failure(path: string): LuactError | undefined {
    return this.failures.get(path);
  }

  /** Syncs everything written so far; rejects with the first file that could not be synced. */
  async flush(): Promise<void> {
    await this.schedule();
    const [failure] = this.failures.values();
    if (failure) throw failure;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Queues a sync of what is dirty now; never rejects (failures are kept per file). */
  private schedule(): Promise<void> {
    this.flushPending = true;
    this.flushing = this.flushing.then(() => this.syncDirty());
    return this.flushing;
  }

  private async syncDirty(): Promise<void> {
    this.flushPending = false;
    const files = this.files;
    const directories = this.directories;
    this.files = new Set();
    this.directories = new Set();
    await Promise.all([
      ...[...files].map((path) =>
        this.pool.use(path, 'r+', syncData).catch((error: unknown) => {
          if (!isMissing(error)) this.failures.set(path, syncFailure(path, error));
        }),
      ),
      ...[...directories].map((directory) =>
        syncDirectory(directory).catch((error: unknown) => {
          if (!isMissing(error)) this.failures.set(directory, syncFailure(directory, error));
        }),
      ),
    ]);
  }
}

function syncFailure(path: string, cause: unknown): LuactError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LuactError(
    'INTERNAL',
    `${path}: fsync failed (${reason}); records appended since the previous sync may be lost`,
    { retryable: false, details: { file: path }, cause },
  );
}
