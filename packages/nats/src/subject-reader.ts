import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { TimeoutError } from '@nats-io/transport-node';

/**
 * Every message of `subject` up to stream sequence `lastSeq`, in order, through an ordered
 * consumer filtered on that subject. The caller knows `lastSeq` (the subject's last message),
 * so the read ends there instead of waiting for more. Rejects with a TimeoutError when no
 * message arrives for `timeoutMs`.
 */
export async function readSubject(
  js: JetStreamClient,
  stream: string,
  subject: string,
  lastSeq: number,
  timeoutMs: number,
): Promise<JsMsg[]> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
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
      if (message.seq >= lastSeq) break;
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
