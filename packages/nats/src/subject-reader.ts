import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { TimeoutError } from '@nats-io/transport-node';

/**
 * Every message of the subjects `filter` matches (wildcards allowed), in order, up to the last
 * one there when the read began: it ends once the consumer has nothing pending. The caller
 * makes sure at least one message matches, else the read waits `timeoutMs` and rejects.
 * `headersOnly` leaves the payloads on the server.
 */
export async function readMatching(
  js: JetStreamClient,
  stream: string,
  filter: string,
  timeoutMs: number,
  headersOnly = false,
): Promise<JsMsg[]> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filter,
    headers_only: headersOnly,
    // Deleted below; should that fail, the server drops the consumer soon anyway.
    inactive_threshold: Math.max(timeoutMs, 5_000),
  });
  const messages = await consumer.consume({ max_messages: 512 });
  const read: JsMsg[] = [];
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const watch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      void messages.close();
    }, timeoutMs);
  };
  try {
    watch();
    for await (const message of messages) {
      read.push(message);
      if (message.info.pending === 0) break;
      watch();
    }
  } finally {
    clearTimeout(timer);
    await messages.close();
    void consumer.delete().catch(() => false); // the read does not wait for the cleanup
  }
  if (stalled) throw new TimeoutError();
  return read;
}
