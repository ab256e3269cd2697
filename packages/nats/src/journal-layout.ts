import { LuactError } from '@luact/core';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { publishDurably } from './durable-publish.js';
import { isWrongLastSequence } from './nats-errors.js';
import { DEFAULT_PARTITIONS, MAX_PARTITIONS } from './subjects.js';

/**
 * The journals' layout marker, `<prefix>._meta`: which layout the journals under a prefix are
 * written in and how many partitions they have, fixed when the first journal opens the stream.
 */

/** What `<prefix>._meta` says about the journals under a prefix. */
interface LayoutMarker {
  readonly layout: typeof LAYOUT;
  readonly partitions: number;
}

/** The layout this code writes: partitions in the subject, entries chained by epoch and prev. */
const LAYOUT = 'partitioned-chain/1';

/**
 * The partition count of the journals under `subjects.prefix` in `stream`, as the layout
 * marker on `<prefix>._meta` records it; a new stream gets one with `wanted` (or the default).
 * JetStream 2.9.10 has no stream metadata, so the marker is a message: written with expected
 * subject sequence 0, which the server checks when it applies the message even on R3, so
 * two journals opening a new stream at once agree on one count. Refused: a `wanted` count
 * other than the stream's, and journals written before this layout (subjects under the prefix
 * but no marker), which this code cannot read.
 */
export async function ensureLayout(
  jsm: JetStreamManager,
  js: JetStreamClient,
  stream: string,
  prefix: string,
  wanted: number | undefined,
): Promise<number> {
  const meta = `${prefix}._meta`;
  let marker = await readMarker(jsm, stream, meta);
  if (marker === undefined) {
    const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}.>` });
    // Journals without a marker are an earlier layout; the marker itself may have been written
    // by another journal since it was looked for (several nodes open one stream at once).
    const journals = Object.entries(info.state.subjects ?? {}).some(
      ([subject, count]) => subject !== meta && count > 0,
    );
    if (journals && (await readMarker(jsm, stream, meta)) === undefined) {
      throw new LuactError(
        'INVALID',
        `JetStream stream ${stream} holds journals under ${prefix} in the layout of an earlier luact (one subject per journal, no partitions or epochs, no ${meta} marker), which this version does not read: finish those workflows with the earlier version, or delete the stream (nats stream rm ${stream}), or give this journal another stream and subject prefix`,
        { retryable: false, details: { stream, prefix } },
      );
    }
    const partitions = wanted ?? DEFAULT_PARTITIONS;
    const body: LayoutMarker = { layout: LAYOUT, partitions };
    try {
      await publishDurably(js, meta, JSON.stringify(body), {
        msgID: `${meta}:${partitions}`,
        expect: { lastSubjectSequence: 0 },
      });
    } catch (error) {
      if (!isWrongLastSequence(error)) throw error;
      // Another journal created the marker first: its count is the stream's.
    }
    marker = await readMarker(jsm, stream, meta);
    if (marker === undefined) {
      throw new LuactError(
        'INTERNAL',
        `JetStream stream ${stream}: ${meta} vanished after it was written`,
        {
          retryable: true,
          details: { stream },
        },
      );
    }
  }
  if (wanted !== undefined && wanted !== marker.partitions) {
    throw new LuactError(
      'INVALID',
      `JetStream stream ${stream} keeps its journals in ${marker.partitions} partitions (${meta}), not the ${wanted} asked for: the count is fixed when the stream is created; leave partitions out to use the stream's`,
      { retryable: false, details: { stream, partitions: marker.partitions, wanted } },
    );
  }
  return marker.partitions;
}

async function readMarker(
  jsm: JetStreamManager,
  stream: string,
  meta: string,
): Promise<LayoutMarker | undefined> {
  // Answered by the stream leader, so a marker just written is seen (not a replica's view).
  const message = await jsm.streams.getMessage(stream, { last_by_subj: meta });
  if (message === null) return undefined;
  const unreadable = (why: string) =>
    new LuactError(
      'INVALID',
      `JetStream stream ${stream}: the journal layout marker ${meta} (sequence ${message.seq}) is unreadable: ${why}`,
      { retryable: false, details: { stream, subject: meta, sequence: message.seq } },
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(message.string());
  } catch {
    throw unreadable('not JSON');
  }
  const { layout, partitions } = (parsed ?? {}) as Partial<LayoutMarker>;
  if (layout !== LAYOUT) throw unreadable(`layout ${JSON.stringify(layout)}, expected ${LAYOUT}`);
  if (
    typeof partitions !== 'number' ||
    partitions < 1 ||
    partitions > MAX_PARTITIONS ||
    !Number.isSafeInteger(partitions)
  ) {
    throw unreadable(`partitions ${JSON.stringify(partitions)}`);
  }
  return { layout, partitions };
}
