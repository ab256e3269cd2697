import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/**
 * What the chaos tests read of the cluster's streams, as an operator would with the JetStream
 * API: which server leads a stream, every message of a stream, the committed views, and a
 * workflow journal stream's chain facts per partition. Tests only; luact itself reaches NATS
 * through @luact/nats.
 */

/** One stored message: where it sits, its headers and its payload. */
export interface StoredEntry {
  readonly seq: number;
  readonly subject: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: Uint8Array;
}

/** A partition owner in a view record. */
export interface ViewOwner {
  readonly node: string;
  readonly incarnation: number;
  readonly epoch: number;
}

/** A view record of `<PREFIX>_VIEW` (the fields the tests look at). */
export interface ViewRecord {
  readonly version: number;
  readonly members: Readonly<Record<string, { readonly incarnation: number }>>;
  readonly owners: Readonly<Record<string, readonly ViewOwner[]>>;
  readonly changes: readonly { readonly kind: string; readonly node: string }[];
}

/** Runs `use` with a connection to `servers`, closed afterwards. */
export async function withNats<T>(
  servers: readonly string[],
  use: (connection: NatsConnection) => Promise<T>,
): Promise<T> {
  const connection = await connect({ servers: [...servers], maxReconnectAttempts: -1 });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

/** The server name leading `stream` (stream info's cluster leader), or undefined. */
export async function streamLeader(
  connection: NatsConnection,
  stream: string,
): Promise<string | undefined> {
  const jsm = await jetstreamManager(connection, { timeout: 10_000 });
  const info = await jsm.streams.info(stream);
  return info.cluster?.leader || undefined;
}

/**
 * Every message of `stream` (under `filter`, default all), oldest first, through one ordered
 * consumer.
 */
export async function readStream(
  connection: NatsConnection,
  stream: string,
  filter?: string,
): Promise<StoredEntry[]> {
  const jsm = await jetstreamManager(connection, { timeout: 10_000 });
  const { state } = await jsm.streams.info(stream);
  if (state.messages === 0) return [];
  const consumer = await jetstream(connection).consumers.get(stream, {
    deliver_policy: DeliverPolicy.All,
    ...(filter !== undefined ? { filter_subjects: filter } : {}),
  });
  const found: StoredEntry[] = [];
  const messages = await consumer.consume();
  for await (const message of messages) {
    const headers: Record<string, string> = {};
    for (const key of message.headers?.keys() ?? []) headers[key] = message.headers?.get(key) ?? '';
    found.push({ seq: message.seq, subject: message.subject, headers, data: message.data });
    if (message.info.pending === 0 || message.seq >= state.last_seq) break;
  }
  await messages.close();
  return found;
}

/** Every view committed under `prefix` still kept in its stream, in version order. */
export async function readViews(
  connection: NatsConnection,
  prefix = 'luact',
): Promise<ViewRecord[]> {
  const entries = await readStream(connection, `${prefix.toUpperCase()}_VIEW`);
  return entries.map((entry) => JSON.parse(new TextDecoder().decode(entry.data)) as ViewRecord);
}

/** A journal entry's chain facts: the epoch it was written at and the sequence it follows. */
export interface ChainFacts {
  readonly seq: number;
  readonly subject: string;
  readonly epoch: number;
  readonly prev: number;
  readonly kind: string;
}

/**
 * The entries of a workflow host's journal stream (`LUACT_JOURNAL_<HOST>`, subjects
 * `luact.journal.<host>.<p>.<journal>`), by partition, in stream order, and how many close
 * markers (`<journal>.closed`, one per journal closed) it holds.
 */
export async function journalEntries(
  connection: NatsConnection,
  host: string,
): Promise<{ partitions: Map<number, ChainFacts[]>; closeMarkers: number }> {
  const token = host.replace(/[^A-Za-z0-9]+/g, '_');
  const prefix = `luact.journal.${token}.`;
  const entries = await readStream(connection, `LUACT_JOURNAL_${token.toUpperCase()}`);
  const partitions = new Map<number, ChainFacts[]>();
  let closeMarkers = 0;
  for (const entry of entries) {
    const [partition, journal, marker] = entry.subject.slice(prefix.length).split('.');
    if (marker === 'closed') closeMarkers++;
    if (journal === undefined || marker !== undefined) continue; // `_meta`, `<id>.closed`
    const facts = {
      seq: entry.seq,
      subject: entry.subject,
      epoch: Number(entry.headers['Luact-Epoch']),
      prev: Number(entry.headers['Luact-Prev']),
      kind: entry.headers['Luact-Entry'] ?? '',
    };
    const list = partitions.get(Number(partition)) ?? [];
    list.push(facts);
    partitions.set(Number(partition), list);
  }
  return { partitions, closeMarkers };
}

/**
 * Waits until `stream` exists and has a leader. A node opening a stream that another node
 * created a moment before may time out asking for its info while the stream's first election
 * is under way; starting the other nodes after this keeps the tests on what they test.
 */
export async function waitForStreamLeader(
  servers: readonly string[],
  stream: string,
  timeoutMs = 60_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  return withNats(servers, async (connection) => {
    for (;;) {
      const leader = await streamLeader(connection, stream).catch(() => undefined);
      if (leader !== undefined) return leader;
      if (Date.now() > deadline) throw new Error(`${stream} has no leader after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
}
