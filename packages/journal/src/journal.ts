/**
 * One record of a journal: a plain value msgpack can encode (objects, arrays, strings,
 * numbers, bigints, booleans, null, Uint8Array). The workflow engine defines what records
 * mean; a journal only keeps them, in order, durably.
 */
export type JournalRecord = Readonly<Record<string, unknown>>;

/** A stream as `list()` reports it. */
export interface StreamInfo {
  readonly id: string;
  /** Records in it. */
  readonly length: number;
  readonly closed: boolean;
}

/** A closed stream as `listClosed()` reports it. */
export interface ClosedStream {
  readonly id: string;
  /** What its writer handed `close`; absent when it handed nothing or it could not be kept. */
  readonly summary?: JournalRecord;
}

/**
 * Append-only, per-stream storage of journal records (docs/concepts/journals.md). A stream is
 * identified by any non-empty string of up to 512 UTF-8 bytes (a workflow run; a string with a lone
 * surrogate has no UTF-8 form and is refused); implementations encode it as they need (file names,
 * NATS subjects). Every implementation passes the same conformance suite
 * (`describeJournalConformance` in @luact/testkit).
 *
 * Errors are LuactErrors: CONFLICT for a wrong `expected` length or an append to a closed
 * stream, UNAVAILABLE when the store cannot be reached, INTERNAL for a damaged stream (naming
 * where: file and byte offset, or subject and sequence). A damaged stream never affects others.
 */
export interface Journal {
  /** `file`, `jetstream`, `memory`: for messages and benchmarks. */
  readonly kind: string;
  /** How durable an acknowledged append is, e.g. `fsync=batch (100 ms)` or `R3`. */
  readonly durability: string;

  /**
   * Appends `records` to stream `id`, which must hold exactly `expected` records (a single
   * writer per stream; the first append has `expected` 0 and creates the stream). Resolves
   * once they are as durable as `durability` says. Appends to one stream must not overlap:
   * the caller issues the next after the previous settled. Repeating an append whose outcome
   * was unknown (a timeout, a lost connection) with the same arguments is safe: it resolves
   * without storing the records twice (if only the first few of them were stored, it stores
   * the rest). An empty `records` list stores nothing and creates no stream.
   */
  append(id: string, expected: number, records: readonly JournalRecord[]): Promise<void>;

  /**
   * Every record of stream `id` in order ([] when it does not exist). A final frame torn by a
   * crash in the middle of an append is dropped, never misread, and the next append replaces
   * it. Damage anywhere else is an INTERNAL error naming the place.
   */
  read(id: string): Promise<JournalRecord[]>;

  /**
   * Marks a stream finished: `open()` stops listing it and appends are refused. `summary`, a
   * small record saying how the stream ended, is kept with it for `listClosed()`. Idempotent
   * (closing again keeps the first summary); closing a stream that has no records does nothing.
   */
  close(id: string, summary?: JournalRecord): Promise<void>;

  /** The streams that have records and are not closed, without reading their records. */
  open(): Promise<string[]>;

  /** Every stream, with its length and whether it is closed. */
  list(): Promise<StreamInfo[]>;

  /**
   * Every stream's ID and whether it is closed, without counting records: what a workflow
   * host needs at start, cheap even with many thousands of closed streams.
   */
  ids(): Promise<Omit<StreamInfo, 'length'>[]>;

  /**
   * Every closed stream with the summary it was closed with, without reading its records: what
   * listing finished work needs, cheap even with many thousands of closed streams.
   */
  listClosed(): Promise<ClosedStream[]>;

  /** Deletes a stream (closed or not). Idempotent. */
  remove(id: string): Promise<void>;

  /** Makes everything appended durable and releases files and connections. Idempotent. */
  shutdown(): Promise<void>;
}
