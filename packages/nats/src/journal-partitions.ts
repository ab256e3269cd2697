import { LuactError } from '@luact/core';
import type { JournalRecord, KeyedLock } from '@luact/journal';
import { decodeRecords } from './journal-entries.js';
import type { DamagedJournal, JournalReader } from './journal-reader.js';
import type { Snapshot } from './journal-state.js';
import type { JournalWriter } from './journal-writer.js';
import type { JournalSubjects } from './subjects.js';

/**
 * A journal stream's partitions: the epoch this node writes each one at (from `epochOf`, or
 * refused where it is not the owner), and a whole partition read or taken over by a new owner.
 */

/** A journal of one partition, as `readPartition` and `takeOver` return it. */
export type PartitionJournal =
  | {
      readonly id: string;
      /** Its records after the fork rule. */
      readonly records: JournalRecord[];
      readonly closed: boolean;
    }
  | DamagedJournal;

/** The epochs this node writes the partitions of `stream` at. */
export class PartitionEpochs {
  constructor(
    private readonly stream: string,
    private readonly subjects: JournalSubjects,
    private readonly epochOf: (partition: number) => number | undefined,
  ) {}

  /** The epoch of journal `id`'s partition, for `action` (named in the error if this node does not own it). */
  ofJournal(id: string, action: string): number {
    return this.ofPartition(this.subjects.partitionOf(id), `${action} journal ${id}`);
  }

  ofPartition(partition: number, action: string): number {
    const epoch = this.epochOf(partition);
    if (epoch === undefined) {
      throw new LuactError(
        'CONFLICT',
        `cannot ${action}: this node does not own partition ${partition} of ${this.stream}`,
        { retryable: false, details: { stream: this.stream, partition } },
      );
    }
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new LuactError(
        'INVALID',
        `epochOf(${partition}) must answer a non-negative integer or undefined, got ${epoch}`,
        { retryable: false, details: { stream: this.stream, partition } },
      );
    }
    return epoch;
  }

  /** Refuses a partition number the stream does not have. */
  check(partition: number): void {
    const { partitions } = this.subjects;
    if (!Number.isSafeInteger(partition) || partition < 0 || partition >= partitions) {
      throw new LuactError(
        'INVALID',
        `partition must be an integer from 0 to ${partitions - 1} in ${this.stream}, got ${partition}`,
        { retryable: false, details: { stream: this.stream } },
      );
    }
  }
}

/** Every journal of `partition` with its records after the fork rule (damaged ones as such). */
export async function readPartition(
  reader: JournalReader,
  writer: JournalWriter,
  partition: number,
): Promise<PartitionJournal[]> {
  const journals = await reader.partition(partition);
  return journals.map((journal) => {
    if ('damaged' in journal) return journal;
    // Journals this one is writing keep the view their own writes maintain.
    writer.learn(journal);
    return published(journal);
  });
}

/**
 * Reads `partition`, fences every open journal in it at `epoch` (each under its lock), and
 * reads again only a journal that changed between the read and its fence.
 */
export async function takeOverPartition(
  reader: JournalReader,
  writer: JournalWriter,
  lock: KeyedLock,
  partition: number,
  epoch: number,
): Promise<PartitionJournal[]> {
  const journals = await reader.partition(partition);
  return Promise.all(
    journals.map((journal) => {
      if ('damaged' in journal) return journal;
      return lock.run(journal.id, async () => {
        const { reloaded } = await writer.fence(journal.id, epoch, journal);
        if (!reloaded) return published(journal);
        return published(await writer.load(journal.id));
      });
    }),
  );
}

/** A journal as `readPartition` hands it out. */
function published({ id, chain, closed }: Snapshot): PartitionJournal {
  return { id, records: decodeRecords(id, chain), closed };
}
