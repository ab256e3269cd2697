export type { NatsConnection } from '@nats-io/transport-node';
export { connectNats, type NatsConnectionSettings } from './connect.js';
export {
  DEFAULT_PUBLISH_BUDGET_MS,
  type DurablePublishOptions,
  publishDurably,
} from './durable-publish.js';
export { JetStreamJournal, type JetStreamJournalOptions } from './jetstream-journal.js';
