import { LuactError } from '@luact/core';
import type { NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_PUBLISH_BUDGET_MS } from './durable-publish.js';

export interface JetStreamJournalOptions {
  readonly connection: NatsConnection;
  /** The JetStream stream that holds every journal. Default `LUACT_JOURNAL`. */
  readonly stream?: string;
  /** Entries of journal `id` go to `<subjectPrefix>.<partition>.<token of id>`. Default `luact.journal`. */
  readonly subjectPrefix?: string;
  /** Replicas of the JetStream stream: 1, or 3 on a cluster. Default 1. */
  readonly replicas?: number;
  /**
   * Milliseconds records are kept. Default: until their journal is removed. A journal whose
   * first records expired can no longer be read (INTERNAL), so keep it well above the
   * longest workflow.
   */
  readonly maxAge?: number;
  /** How long one request to NATS may take before the operation fails UNAVAILABLE. Default 5 s. */
  readonly requestTimeoutMs?: number;
  /**
   * Partitions of a new stream (1–4096, default 64), fixed when the stream is created. An
   * existing stream's count is read from it; a different count here is refused.
   */
  readonly partitions?: number;
  /**
   * The epoch at which this journal writes partition `p`, or undefined when this node does not
   * own `p` (appends, fences and closes of its journals then fail CONFLICT). Asked on every
   * write, so it can read a live ownership view. Default: every partition at epoch 0 (one node).
   */
  readonly epochOf?: (partition: number) => number | undefined;
  /**
   * The part of a journal ID that picks its partition: journals with the same key share a
   * partition (the runs `<workflow>~<run>` of one workflow, so the workflow moves as a whole).
   * Default: the whole ID. It decides where journals live, so it must never change for a stream.
   */
  readonly partitionKey?: (id: string) => string;
  /**
   * How long a publish is retried with its message ID while its outcome is unknown (a lost
   * answer, a leader election) before the operation fails UNAVAILABLE. Default 15 s.
   */
  readonly publishBudgetMs?: number;
}

/** publishDurably's ceiling: retries must land well inside the duplicate window. */
const MAX_PUBLISH_BUDGET_MS = 60_000;

/** The options with their defaults, checked (INVALID naming the option). */
export function resolveOptions(options: JetStreamJournalOptions) {
  const {
    connection,
    stream = 'LUACT_JOURNAL',
    subjectPrefix = 'luact.journal',
    replicas = 1,
    maxAge = 0,
    requestTimeoutMs = 5_000,
    publishBudgetMs = DEFAULT_PUBLISH_BUDGET_MS,
    epochOf = () => 0,
    partitionKey = (id: string) => id,
  } = options;
  checkStreamName(stream);
  checkCount('replicas', replicas, 1);
  checkCount('maxAge', maxAge, 0);
  checkCount('requestTimeoutMs', requestTimeoutMs, 1);
  checkCount('publishBudgetMs', publishBudgetMs, 1);
  if (publishBudgetMs > MAX_PUBLISH_BUDGET_MS) {
    throw new LuactError(
      'INVALID',
      `JetStreamJournal publishBudgetMs must be at most ${MAX_PUBLISH_BUDGET_MS} (retries must stay inside the duplicate window), got ${publishBudgetMs}`,
      { retryable: false },
    );
  }
  return {
    connection,
    stream,
    subjectPrefix,
    replicas,
    maxAge,
    requestTimeoutMs,
    publishBudgetMs,
    epochOf,
    partitionKey,
  };
}

function checkStreamName(name: string): void {
  if (!/^[^.*>\s/\\]+$/.test(name)) {
    throw new LuactError(
      'INVALID',
      `JetStream stream name must be non-empty without . * > / \\ or spaces, got ${JSON.stringify(name)}`,
      { retryable: false },
    );
  }
}

function checkCount(name: string, value: number, minimum: number): void {
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new LuactError(
      'INVALID',
      `JetStreamJournal ${name} must be an integer of at least ${minimum}, got ${value}`,
      { retryable: false },
    );
  }
}
