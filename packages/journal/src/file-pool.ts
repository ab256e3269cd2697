import { closeFile, openFile } from './fd-io.js';

interface Entry {
  /** Resolves once the file is open; rejects (and the entry is dropped) if it cannot be. */
  readonly fd: Promise<number>;
  users: number;
  /** The file moved or is gone: close the descriptor when its last user is done. */
  retired: boolean;
}

/**
 * Open file descriptors, at most `capacity` of them, kept open between uses and closed least
 * recently used first: thousands of streams share a bounded number of descriptors. A
 * descriptor in use is never closed; when every one is busy, callers wait in line and are
 * woken one at a time as descriptors free up (waking all of them would have each retry, and
 * evict what the others just opened).
 */
export class FilePool {
  /** Open (or opening) files by path, least recently used first. */
  private readonly entries = new Map<string, Entry>();
  /** Descriptors held: the entries plus retired ones still in use. */
  private held = 0;
  private waiting: (() => void)[] = [];

  constructor(private readonly capacity: number) {}

  /**
   * Runs `work` with the file at `path` open. A file opened for this call is opened with
   * `flags` (`r+`, or `w+` to create it empty); a missing file rejects with ENOENT.
   */
  async use<T>(path: string, flags: 'r+' | 'w+', work: (fd: number) => Promise<T>): Promise<T> {
    const entry = await this.acquire(path, flags);
    try {
      return await work(await entry.fd);
    } finally {
      this.release(entry);
    }
  }

  /** The file at `from` is now at `to` (renamed): its descriptor stays valid. */
  moved(from: string, to: string): void {
    const entry = this.entries.get(from);
    if (!entry) return;
    this.entries.delete(from);
    this.retire(to);
    this.entries.set(to, entry);
  }

  /** The file at `path` is gone or no longer used under that name. */
  retire(path: string): void {
    const entry = this.entries.get(path);
    if (!entry) return;
    this.entries.delete(path);
    entry.retired = true;
    if (entry.users === 0) void this.close(entry);
  }

  /** Closes every descriptor; call when no `use` is running. */
  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(entries.map((entry) => this.close(entry)));
  }

  private async acquire(path: string, flags: 'r+' | 'w+'): Promise<Entry> {
    for (;;) {
      const existing = this.entries.get(path);
      if (existing) {
        existing.users++;
        this.entries.delete(path); // re-inserted: now the most recently used
        this.entries.set(path, existing);
        return existing;
      }
      if (this.held < this.capacity) break;
      if (!(await this.evictIdle())) await new Promise<void>((wake) => this.waiting.push(wake));
    }
    this.held++;
    return this.opened(path, flags);
  }

  private opened(path: string, flags: 'r+' | 'w+'): Entry {
    const entry: Entry = { fd: openFile(path, flags), users: 1, retired: false };
    this.entries.set(path, entry);
    entry.fd.catch(() => {
      if (this.entries.get(path) === entry) this.entries.delete(path);
      this.held--;
      this.wakeOne();
    });
    return entry;
  }

  private release(entry: Entry): void {
    entry.users--;
    if (entry.users > 0) return;
    if (entry.retired) void this.close(entry);
    else this.wakeOne(); // an idle descriptor can now be evicted for a waiting caller
  }

  /** Closes the least recently used idle descriptor; false when every one is in use. */
  private async evictIdle(): Promise<boolean> {
    for (const [path, entry] of this.entries) {
      if (entry.users > 0) continue;
      this.entries.delete(path);
      await this.close(entry);
      return true;
    }
    return false;
  }

  private async close(entry: Entry): Promise<void> {
    let fd: number;
    try {
      fd = await entry.fd;
    } catch {
      return; // never opened: counted down when the open failed
    }
    try {
      await closeFile(fd);
    } catch {
      // Linux releases the descriptor even when close reports an error.
    }
    this.held--;
    this.wakeOne();
  }

  private wakeOne(): void {
    this.waiting.shift()?.();
  }
}
