export { type CrashChildOptions, runUntilKilled, seededRandom } from './crash-child.js';
export { NatsServerError, type NatsServerErrorKind } from './errors.js';
export { freePort, freePorts } from './free-port.js';
export {
  describeJournalConformance,
  type JournalFactory,
  type JournalFeatures,
  type JournalHarness,
} from './journal-conformance.js';
export { findNatsServerBinary } from './nats-binary.js';
export {
  type NatsClusterHandle,
  type NatsClusterNode,
  type NatsClusterOptions,
  startNatsCluster,
} from './nats-cluster.js';
export type { NatsUser } from './nats-config.js';
export { type NatsServerOptions, startNatsServer } from './nats-server.js';
export { isProcessRunning } from './process-state.js';
export type { NatsServerHandle } from './server-handle.js';
export { startTcpProxy, type TcpProxyHandle, type TcpProxyOptions } from './tcp-proxy.js';
