import { type JetStreamManager, StorageType } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ensureStream } from './streams.js';

export interface JournalStreamSettings {
  readonly name: string;
  /** The subjects the stream must capture. */
  readonly subjects: string;
  readonly replicas: number;
  /** Milliseconds a record is kept; 0 keeps records until their stream is removed. */
  readonly maxAge: number;
}

/** JetStream's default window for recognising a repeated message ID. */
const DUPLICATE_WINDOW_MS = 2 * 60_000;

/**
 * Creates the JetStream stream that holds the journals, or checks an existing one (see
 * ensureStream): subjects, replicas and retention are brought in line. Journals live in file
 * storage: an existing stream in memory storage is refused rather than silently used.
 */
export async function ensureJournalStream(
  jsm: JetStreamManager,
  settings: JournalStreamSettings,
): Promise<void> {
  const { name, subjects, replicas, maxAge } = settings;
  await ensureStream(jsm, {
    name,
    holds: 'journals',
    subjects: [subjects],
    fixed: { storage: StorageType.File },
    settings: {
      num_replicas: replicas,
      max_age: nanos(maxAge),
      // The server refuses a duplicate window longer than the retention.
      duplicate_window: nanos(
        maxAge > 0 ? Math.min(maxAge, DUPLICATE_WINDOW_MS) : DUPLICATE_WINDOW_MS,
      ),
    },
  });
}
