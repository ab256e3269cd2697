import { LuactError } from '@luact/core';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { isUnreachable } from './nats-errors.js';

/** Settings a stream keeps for life: the server refuses to change them. */
export type FixedStreamSettings = Partial<Pick<StreamConfig, 'storage' | 'retention'>>;

/** What one of luact's streams must be; see ensureStream. */
export interface StreamRequirements {
  readonly name: string;
  /** What the stream holds, for errors: "mail", "journals", "cluster names". */
  readonly holds: string;
  /** Subjects the stream must capture; an existing stream keeps any others it captures. */
  readonly subjects: readonly string[];
  /** Settings fixed at creation: an existing stream with other values is refused (INVALID). */
  readonly fixed: FixedStreamSettings;
  /** Settings a new stream gets, and an existing one is brought to where it differs. */
  readonly settings: Readonly<
    Omit<Partial<StreamConfig>, 'name' | 'subjects' | keyof FixedStreamSettings>
  >;
}

export interface EnsureStreamOptions {
  /**
   * How long to keep trying while JetStream does not answer (a freshly started R3 cluster
   * elects its leaders for seconds). Default 30 s.
   */
  readonly retryForMs?: number;
}

export const DEFAULT_ENSURE_STREAM_MS = 30_000;
const RETRY_MS = 250;

/**
 * Creates the stream, or checks an existing one and brings it in line: its fixed settings
 * must match (else INVALID, and the stream is left as it is), its subjects must include ours
 * (added if not), and the other settings are updated where they differ. Tried again while
 * JetStream does not answer, up to `retryForMs`, and once more when another node created the
 * stream meanwhile. A stream the server refuses to create or update is INVALID, with its reason.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  requirements: StreamRequirements,
  options: EnsureStreamOptions = {},
): Promise<void> {
  await untilReachable(async () => {
    try {
      await ensureOnce(jsm, requirements);
    } catch (error) {
      if (!(error instanceof CreatedMeanwhile)) throw error;
      // A refused create is looked at once more (someone else's create); a second is the answer.
      try {
        await ensureOnce(jsm, requirements);
      } catch (again) {
        throw again instanceof CreatedMeanwhile
          ? refused(requirements, 'create', again.cause)
          : again;
      }
    }
  }, options.retryForMs);
}

/**
 * Runs `step` again while JetStream does not answer (a server restarting, an R3 cluster
 * electing its leaders), every 250 ms up to `retryForMs`: for setting up what a node needs
 * (streams, consumers, buckets, markers) before it can work. Any other failure is thrown at once.
 */
export async function untilReachable<T>(
  step: () => Promise<T>,
  retryForMs = DEFAULT_ENSURE_STREAM_MS,
): Promise<T> {
  const deadline = Date.now() + retryForMs;
  for (;;) {
    try {
      return await step();
    } catch (error) {
      if (!isUnreachable(error) || Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/** Creating the stream failed, maybe because another node created it meanwhile: look again. */
class CreatedMeanwhile extends Error {}

async function ensureOnce(jsm: JetStreamManager, requirements: StreamRequirements): Promise<void> {
  const { name, subjects, fixed, settings } = requirements;
  let existing: StreamConfig;
  try {
    existing = (await jsm.streams.info(name)).config;
  } catch (error) {
    if (!(error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound))
      throw error;
    try {
      await jsm.streams.add({ ...settings, ...fixed, name, subjects: [...subjects] });
    } catch (addError) {
      if (addError instanceof JetStreamApiError)
        throw new CreatedMeanwhile('', { cause: addError });
      throw addError;
    }
    return;
  }
  for (const [key, wanted] of Object.entries(fixed) as [keyof FixedStreamSettings, string][]) {
    if (existing[key] !== wanted) throw conflict(requirements, key, existing[key], wanted);
  }
  const captured = existing.subjects ?? [];
  const missing = subjects.filter((subject) => !captured.includes(subject));
  // The server leaves out settings at their zero value.
  const differs = (Object.keys(settings) as (keyof StreamConfig)[]).filter(
    (key) =>
      JSON.stringify(existing[key] || null) !==
      JSON.stringify(settings[key as keyof typeof settings] || null),
  );
  if (missing.length === 0 && differs.length === 0) return;
  try {
    await jsm.streams.update(name, { ...settings, subjects: [...captured, ...missing] });
  } catch (error) {
    if (error instanceof JetStreamApiError) throw refused(requirements, 'update', error);
    throw error;
  }
}

function conflict(
  requirements: StreamRequirements,
  key: keyof FixedStreamSettings,
  found: unknown,
  wanted: string,
): LuactError {
  const { name, holds } = requirements;
  return new LuactError(
    'INVALID',
    `JetStream stream ${name} exists with ${String(found)} ${key}, but it must have ${wanted} ${key} to hold ${holds} (a stream's ${key} cannot change: remove it with nats stream rm ${name}, or use another stream)`,
    { retryable: false, details: { stream: name, setting: key, found, wanted } },
  );
}

function refused(
  requirements: StreamRequirements,
  action: 'create' | 'update',
  cause: unknown,
): LuactError {
  const { name, holds } = requirements;
  const reason = cause instanceof Error ? cause.message : String(cause);
  const code = cause instanceof JetStreamApiError ? cause.code : undefined;
  return new LuactError(
    'INVALID',
    `JetStream refused to ${action} stream ${name} to hold ${holds}: ${reason}${code === undefined ? '' : ` (JetStream error ${code})`}`,
    { retryable: false, details: { stream: name, ...(code === undefined ? {} : { code }) }, cause },
  );
}
