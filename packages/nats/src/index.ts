export type { NatsConnection } from '@nats-io/transport-node';
export {
  type ClusterEvents,
  type ClusterLogRecord,
  ClusterNode,
  type JoinClusterOptions,
  readClusterView,
} from './cluster/cluster-node.js';
export { ClusterTransport } from './cluster/cluster-transport.js';
export { ControlChannel, DEFAULT_CONTROL_TIMEOUT_MS } from './cluster/control.js';
export type { MailLog, MailLogRecord } from './cluster/mail-log.js';
export {
  MAIL_BLOB_MAX_AGE_MS,
  MAIL_HEADER_ROOM,
  MailTransport,
  type MailTransportOptions,
} from './cluster/mail-transport.js';
export {
  type FenceListener,
  Membership,
  type MembershipState,
  type ViewListener,
} from './cluster/membership.js';
export type {
  MembershipLog,
  MembershipLogLevel,
  MembershipOptions,
} from './cluster/membership-options.js';
export { ClusterNameRegistry, type ClusterNamesOptions } from './cluster/names.js';
export { NAME_HISTORY } from './cluster/names-stream.js';
export {
  askNodes,
  DEFAULT_OPS_TIMEOUT_MS,
  type NodeAnswer,
  OpsEndpoint,
  type OpsHandler,
  type OpsRequest,
  opsSubject,
} from './cluster/ops.js';
export { type ClusterStatus, type MemberStatus, readClusterStatus } from './cluster/ops-status.js';
export {
  nextOwners,
  type PartitionOwner,
  type Placement,
  type PlacementInput,
} from './cluster/placement.js';
export type { View, ViewChange, ViewMember } from './cluster/view.js';
export {
  DEFAULT_WORKFLOW_REQUEST_TIMEOUT_MS,
  WorkflowChannel,
} from './cluster/workflow-channel.js';
export {
  connectNats,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_PING_OUT,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_RECONNECT_WAIT_MS,
  type NatsConnectionSettings,
  redactServer,
  serverList,
} from './connect.js';
export {
  type ConnectionLogRecord,
  type WatchConnectionOptions,
  watchConnection,
} from './connection-status.js';
export {
  DEFAULT_PUBLISH_BUDGET_MS,
  type DurablePublishOptions,
  type PublishAttempt,
  type PublishAttemptOptions,
  publishDurably,
} from './durable-publish.js';
export {
  type FenceResult,
  JetStreamJournal,
  type JetStreamJournalOptions,
  type PartitionJournal,
} from './jetstream-journal.js';
export { DEFAULT_PARTITIONS, partitionOf } from './subjects.js';
