import { LuactError } from '@luact/core';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  StorageType,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

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
 * Creates the JetStream stream that holds the journals, or brings an existing one in line
 * (subjects, replicas, retention). Journals live in file storage: an existing stream in
 * memory storage is refused rather than silently used.
 */
export async function ensureJournalStream(
  jsm: JetStreamManager,
  settings: JournalStreamSettings,
): Promise<void> {
  const { name, subjects, replicas, maxAge } = settings;
  const wanted: Partial<StreamConfig> = {
    subjects: [subjects],
    num_replicas: replicas,
    max_age: nanos(maxAge),
    // The server refuses a duplicate window longer than the retention.
    duplicate_window: nanos(
      maxAge > 0 ? Math.min(maxAge, DUPLICATE_WINDOW_MS) : DUPLICATE_WINDOW_MS,
    ),
  };
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(name)).config;
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    await jsm.streams.add({ name, storage: StorageType.File, ...wanted });
    return;
  }
  if (existing.storage !== StorageType.File) {
    throw new LuactError(
      'INVALID',
      `JetStream stream ${name} exists with ${existing.storage} storage; journals need file storage`,
      { retryable: false, details: { stream: name } },
    );
  }
  const captured = existing.subjects.includes(subjects);
  if (
    captured &&
    existing.num_replicas === replicas &&
    existing.max_age === wanted.max_age &&
    existing.duplicate_window === wanted.duplicate_window
  ) {
    return;
  }
  await jsm.streams.update(name, {
    ...wanted,
    subjects: captured ? existing.subjects : [...existing.subjects, subjects],
  });
}

function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}
