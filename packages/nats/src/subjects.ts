import { LuactError } from '@luact/core';

/** Partitions of a journal stream created without saying how many. */
export const DEFAULT_PARTITIONS = 64;
/** Partition numbers stay short subject tokens, and one partition stays one consumer's work. */
export const MAX_PARTITIONS = 4096;

/**
 * The partition of journal `id` among `partitions`: FNV-1a (32 bits) over the ID's UTF-8
 * bytes, modulo the partition count. Stable across processes, versions and platforms: it
 * decides which subject holds a journal, so it must never change for an existing stream.
 */
export function partitionOf(id: string, partitions: number): number {
  checkPartitions(partitions);
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(id, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitions;
}

/**
 * Where journals live in JetStream. Each journal ID becomes one subject token, the base64url
 * form of its UTF-8 bytes (no `.`, `*`, `>` or whitespace, and it reads back exactly), placed
 * under its partition: entries (records, fences, the close entry) go to
 * `<prefix>.<partition>.<token>`, the close marker to `<prefix>.<partition>.<token>.closed`.
 * So one wildcard, `<prefix>.<partition>.>`, covers a whole partition. `<prefix>._meta` holds
 * the layout marker (the partition count).
 */
export class JournalSubjects {
  constructor(
    readonly prefix: string,
    readonly partitions: number = DEFAULT_PARTITIONS,
    /** The part of a journal ID that picks its partition (journals of one key share one). */
    private readonly partitionKey: (id: string) => string = (id) => id,
  ) {
    if (!SUBJECT.test(prefix)) {
      throw new LuactError(
        'INVALID',
        `journal subject prefix must be dot-separated tokens without wildcards or spaces, got ${JSON.stringify(prefix)}`,
        { retryable: false },
      );
    }
    checkPartitions(partitions);
  }

  /** Every subject of the journal: what the JetStream stream must capture. */
  get all(): string {
    return `${this.prefix}.>`;
  }

  /** The layout marker's subject. */
  get meta(): string {
    return `${this.prefix}.${META}`;
  }

  /** Matches the entry subjects of every journal. */
  get everyJournal(): string {
    return `${this.prefix}.*.*`;
  }

  /** Matches the close markers of every journal. */
  get everyCloseMarker(): string {
    return `${this.prefix}.*.*.${CLOSED}`;
  }

  /** Matches every subject of one partition: entries and close markers. */
  partition(partition: number): string {
    return `${this.prefix}.${partition}.>`;
  }

  /** Matches the entry subjects of one partition. */
  journalsOf(partition: number): string {
    return `${this.prefix}.${partition}.*`;
  }

  partitionOf(id: string): number {
    return partitionOf(this.partitionKey(id), this.partitions);
  }

  entries(id: string): string {
    return `${this.prefix}.${this.partitionOf(id)}.${tokenOf(id)}`;
  }

  closeMarker(id: string): string {
    return `${this.entries(id)}.${CLOSED}`;
  }

  /** The journal ID of an entry or close-marker subject; undefined for any other subject. */
  idOf(subject: string): string | undefined {
    return this.parse(subject)?.id;
  }

  /** What `subject` is in this layout: a journal's entries or its close marker, or nothing. */
  parse(subject: string): { readonly id: string; readonly marker: boolean } | undefined {
    if (!subject.startsWith(`${this.prefix}.`)) return undefined;
    const [partition, token, ...rest] = subject.slice(this.prefix.length + 1).split('.');
    if (partition === undefined || token === undefined) return undefined;
    if (rest.length > 1 || (rest.length === 1 && rest[0] !== CLOSED)) return undefined;
    const id = Buffer.from(token, 'base64url').toString('utf8');
    // Only what this layout produces: the exact token, in the ID's own partition.
    if (tokenOf(id) !== token || String(this.partitionOf(id)) !== partition) return undefined;
    return { id, marker: rest.length === 1 };
  }

  /**
   * The message ID of the entry written at `epoch` that follows stream sequence `prev` in
   * journal `id`. Two writers of one epoch claiming the same place share it, so JetStream
   * keeps one of them even where it does not serialize the expected last sequence (2.9.10
   * R3): it checks message IDs when it applies a message, within its duplicate window.
   * Writers of different epochs do not share it: the fork rule settles between them.
   */
  slotId(id: string, prev: number, epoch: number): string {
    return `${tokenOf(id)}:${prev}:${epoch}`;
  }
}

const CLOSED = 'closed';
const META = '_meta';
const SUBJECT = /^[^.*>\s]+(\.[^.*>\s]+)*$/;

function tokenOf(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function checkPartitions(partitions: number): void {
  if (!Number.isSafeInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
    throw new LuactError(
      'INVALID',
      `journal partitions must be an integer from 1 to ${MAX_PARTITIONS}, got ${partitions}`,
      { retryable: false },
    );
  }
}
