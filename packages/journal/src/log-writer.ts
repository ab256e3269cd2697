import fs from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { LuactError } from '@luact/core';
import { closeFile, openFile, syncData, syncDirectory, truncateFile, writeAllAt } from './fd-io.js';
import { fileError } from './file-errors.js';
import type { FsyncPolicy } from './sync-policy.js';
import {
  encodeSegmentHeader,
  type LogPosition,
  type PendingFrame,
  placeFrame,
} from './wal-format.js';

/** Where a frame landed. */
export interface Placement {
  readonly segment: number;
  readonly offset: number;
  readonly size: number;
}

interface Waiting {
  /** Undefined for a barrier: it resolves once everything submitted before it is written. */
  readonly frame: PendingFrame | undefined;
  readonly resolve: (placement: Placement) => void;
  readonly reject: (error: unknown) => void;
}

/** The segment frames are appended to. */
interface ActiveSegment {
  readonly number: number;
  readonly path: string;
  readonly fd: number;
  /** Where the next write goes. */
  end: number;
  /** Written since its last fdatasync. */
  dirty: boolean;
}

export interface LogWriterOptions {
  readonly logDir: string;
  readonly fsync: FsyncPolicy;
  readonly syncIntervalMs: number;
  /** A segment that reaches this size is followed by a new one. */
  readonly segmentBytes: number;
  /** The segment to continue and where its intact frames end; none: start a new one. */
  readonly resume: { readonly segment: number; readonly end: number } | undefined;
  /** The first number a new log file (segment or archive) may take: past every existing one. */
  readonly next: number;
  /** Segment `full` is full and the next one started: compaction may look at it. */
  readonly onRollOver?: (full: number) => void;
}

/** The name of segment `number` of the log. */
export function segmentFileName(number: number): string {
  return `${String(number).padStart(10, '0')}.wal`;
}

export function segmentNumberOf(name: string): number | undefined {
  const match = /^(\d{10})\.wal$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

/**
 * Group commit: frames submitted by any number of streams are written together, one write per
 * batch, and (`fsync=always`) one fdatasync covers the whole batch before any of it resolves.
 * While a batch is being synced, the next one gathers, so the more streams append at once, the
 * fewer syncs each append costs. `batch` writes at once and syncs on a timer; `never` only
 * writes. A write that fails is cut off again, so what follows lands on sound frames; a failed
 * fdatasync leaves the log unusable (the kernel may have dropped the pages it covered), and
 * every later append is refused until the journal is reopened.
 */
export class LogWriter {
  private waiting: Waiting[] = [];
  private writing = false;
  private scheduled = false;
  private broken: LuactError | undefined;
  private active: ActiveSegment;
  /** Full segments not yet synced (`batch`, `never`): shutdown and the timer sync them. */
  private unsynced: ActiveSegment[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  /** fdatasync and fsync calls made: for benchmarks and tests. */
  syncs = 0;
  /** Frames written: what unbatched syncing would sync one by one. */
  frames = 0;

  private nextNumber: number;

  static async open(options: LogWriterOptions): Promise<LogWriter> {
    const fresh = options.resume === undefined;
    const active = options.resume
      ? await openSegment(options.logDir, options.resume.segment, options.resume.end)
      : await createSegment(options.logDir, options.next);
    const writer = new LogWriter(options, active, fresh ? options.next + 1 : options.next);
    if (fresh) await writer.syncNewSegment(active);
    return writer;
  }

  private constructor(
    private readonly options: LogWriterOptions,
    active: ActiveSegment,
    nextNumber: number,
  ) {
    this.active = active;
    this.nextNumber = nextNumber;
    if (options.fsync === 'batch') {
      this.timer = setInterval(() => void this.syncAll().catch(() => {}), options.syncIntervalMs);
      this.timer.unref(); // a journal alone does not keep the process alive
    }
  }

  /** The segment being written. */
  get activeSegment(): number {
    return this.active.number;
  }

  /** Where the next write goes: every frame written so far lies before it. */
  position(): LogPosition {
    return { segment: this.active.number, offset: this.active.end };
  }

  /** A number for a new log file: segments and archives share one sequence. */
  reserveNumber(): number {
    return this.nextNumber++;
  }

  /** Resolves with where `frame` landed once it is as durable as the policy says. */
  submit(frame: PendingFrame): Promise<Placement> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.waiting.push({ frame, resolve, reject });
      this.kick();
    });
  }

  /** Makes everything written so far durable, whatever the policy. */
  async flush(): Promise<void> {
    // Not until the log is idle (under load it may never be): until what came before is written.
    if (this.writing || this.waiting.length > 0) {
      await new Promise<Placement>((resolve, reject) => {
        this.waiting.push({ frame: undefined, resolve, reject });
        this.kick();
      });
    }
    await this.syncAll();
    if (this.broken) throw this.broken;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.syncing.catch(() => {});
    for (const segment of [...this.unsynced, this.active])
      await closeFile(segment.fd).catch(() => {});
  }

  private kick(): void {
    if (this.writing || this.scheduled) return;
    if (this.options.fsync === 'always') {
      void this.run();
      return;
    }
    // Without a sync to wait for, appends made in the same turn of the event loop share a write.
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting;
        this.waiting = [];
        await this.writeBatch(batch);
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeBatch(batch: readonly Waiting[]): Promise<void> {
    if (this.broken) {
      for (const item of batch) item.reject(this.broken);
      return;
    }
    try {
      if (this.active.end >= this.options.segmentBytes) await this.rollOver();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    const segment = this.active;
    const start = segment.end;
    let total = 0;
    for (const item of batch) total += item.frame?.bytes.length ?? 0;
    const bytes = Buffer.allocUnsafe(total);
    const placements: Placement[] = [];
    let at = 0;
    for (const item of batch) {
      const size = item.frame?.bytes.length ?? 0;
      if (item.frame) {
        placeFrame(item.frame, start);
        bytes.set(item.frame.bytes, at);
      }
      placements.push({ segment: segment.number, offset: start + at, size });
      at += size;
    }
    try {
      writeAllAt(segment.fd, bytes, start);
    } catch (error) {
      // Part of the batch may have landed: cut it off, so the next write follows sound frames.
      try {
        fs.ftruncateSync(segment.fd, start);
      } catch {
        this.broken = fileError(segment.path, 'cut a failed write from', error);
      }
      const failure = fileError(segment.path, 'append to', error);
      for (const item of batch) item.reject(failure);
      return;
    }
    segment.end = start + total;
    segment.dirty ||= total > 0;
    for (const item of batch) if (item.frame) this.frames++;
    if (this.options.fsync === 'always' && segment.dirty) {
      try {
        await this.syncSegment(segment);
      } catch (error) {
        for (const item of batch) item.reject(error);
        return;
      }
    }
    for (const [index, item] of batch.entries()) item.resolve(placements[index] as Placement);
  }

  /** Starts the next segment; the full one is synced first (`always`) or later (the others). */
  private async rollOver(): Promise<void> {
    const full = this.active;
    // The new segment first: if it cannot be made (a full disk), the log goes on as it was.
    const next = await createSegment(this.options.logDir, this.reserveNumber());
    this.active = next;
    if (this.options.fsync === 'always') await closeFile(full.fd);
    else this.unsynced.push(full);
    await this.syncNewSegment(next);
    this.options.onRollOver?.(full.number);
  }

  /** A new segment's header and name are durable before frames that depend on them resolve. */
  private async syncNewSegment(segment: ActiveSegment): Promise<void> {
    if (this.options.fsync !== 'always') return;
    await this.syncSegment(segment);
    try {
      this.syncs++;
      await syncDirectory(this.options.logDir);
    } catch (error) {
      throw this.fail(this.options.logDir, error);
    }
  }

  private async syncSegment(segment: ActiveSegment): Promise<void> {
    segment.dirty = false;
    this.syncs++;
    try {
      await syncData(segment.fd);
    } catch (error) {
      throw this.fail(segment.path, error);
    }
  }

  /** Syncs every written segment (the timer of `batch`, `flush`). */
  private syncAll(): Promise<void> {
    this.syncing = this.syncing.then(async () => {
      const full = this.unsynced;
      this.unsynced = [];
      for (const segment of full) {
        if (segment.dirty) await this.syncSegment(segment);
        await closeFile(segment.fd);
      }
      if (full.length > 0) {
        this.syncs++;
        await syncDirectory(this.options.logDir).catch((error: unknown) => {
          throw this.fail(this.options.logDir, error);
        });
      }
      if (this.active.dirty) await this.syncSegment(this.active);
    });
    return this.syncing;
  }

  /** After a failed sync the kernel may have dropped the pages it covered: stop writing. */
  private fail(file: string, cause: unknown): LuactError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    this.broken ??= new LuactError(
      'INTERNAL',
      `${file}: fsync failed (${reason}); records appended since the previous sync may be lost, and the journal takes no more appends until it is reopened`,
      { retryable: false, details: { file }, cause },
    );
    return this.broken;
  }
}

/**
 * A new segment with its header; none at all when that fails (a half-made segment before
 * later ones would read as damage to every open stream).
 */
async function createSegment(logDir: string, number: number): Promise<ActiveSegment> {
  const file = path.join(logDir, segmentFileName(number));
  let fd: number | undefined;
  try {
    fd = await openFile(file, 'w+');
    const header = encodeSegmentHeader(number);
    writeAllAt(fd, header, 0);
    return { number, path: file, fd, end: header.length, dirty: true };
  } catch (error) {
    if (fd !== undefined) await closeFile(fd).catch(() => {});
    await rm(file, { force: true }).catch(() => {});
    throw fileError(file, 'create', error);
  }
}

/** Reopens segment `number` to append after its intact frames, cutting off a torn tail. */
async function openSegment(logDir: string, number: number, end: number): Promise<ActiveSegment> {
  const file = path.join(logDir, segmentFileName(number));
  try {
    const fd = await openFile(file, 'r+');
    if (fs.fstatSync(fd).size > end) await truncateFile(fd, end);
    return { number, path: file, fd, end, dirty: true };
  } catch (error) {
    throw fileError(file, 'open', error);
  }
}
