import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { ensureStream } from '../streams.js';

/** How long mail waits for a node that is down before JetStream removes it. */
export const MAIL_MAX_AGE_MS = 7 * 24 * 3_600_000;
/** How long a receiver may hold a record without acknowledging it before it is sent again. */
export const MAIL_ACK_WAIT_MS = 10_000;
/** Records handed to a receiver and not yet acknowledged (gaps held count too). */
export const MAIL_MAX_ACK_PENDING = 20_000;

export interface MailStreamSettings {
  readonly name: string;
  /** `<prefix>.*`: one subject per receiving node. */
  readonly subjects: string;
  readonly replicas: number;
}

/**
 * Creates the mail stream (WorkQueue: a record is gone once its receiver acknowledged it, in
 * file storage), or checks an existing one (see ensureStream): replicas and max age are
 * brought in line.
 */
export async function ensureMailStream(
  jsm: JetStreamManager,
  settings: MailStreamSettings,
): Promise<void> {
  const { name, subjects, replicas } = settings;
  await ensureStream(jsm, {
    name,
    holds: 'mail',
    subjects: [subjects],
    fixed: { retention: RetentionPolicy.Workqueue, storage: StorageType.File },
    settings: { num_replicas: replicas, max_age: nanos(MAIL_MAX_AGE_MS) },
  });
}

/**
 * Creates the receiving node's durable consumer on its subject. An existing one that still
 * has records handed out and unacknowledged (to an earlier incarnation of the node) is
 * created again, so the new incarnation gets every remaining record in stream order at once,
 * rather than those after ack_wait and out of order.
 */
export async function ensureMailConsumer(
  jsm: JetStreamManager,
  stream: string,
  name: string,
  subject: string,
): Promise<void> {
  try {
    const info = await jsm.consumers.info(stream, name);
    const config = info.config;
    if (
      info.num_ack_pending === 0 &&
      config.filter_subject === subject &&
      config.ack_wait === nanos(MAIL_ACK_WAIT_MS) &&
      config.max_ack_pending === MAIL_MAX_ACK_PENDING
    ) {
      return;
    }
    await jsm.consumers.delete(stream, name);
  } catch (error) {
    if (!isNotFound(error, JetStreamApiCodes.ConsumerNotFound)) throw error;
  }
  await jsm.consumers.add(stream, {
    durable_name: name,
    filter_subject: subject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(MAIL_ACK_WAIT_MS),
    max_ack_pending: MAIL_MAX_ACK_PENDING,
  });
}

function isNotFound(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}
