export {
  type ServiceStatus,
  type StartProblem,
  startProblems,
} from '@luact/supervisor';
export { type CallOptions, DEFAULT_CALL_TIMEOUT_MS } from './calls.js';
export { checkLuaEntries } from './check.js';
export { queryControl } from './control/client.js';
export {
  type ClusterAnswers,
  ClusterOps,
  type ClusterOpsOptions,
  type ClusterStatus,
  type MemberStatus,
  type NodeAnswer,
  type PartitionOwner,
  type View,
  type ViewChange,
} from './control/cluster-client.js';
export { sortedKeys, toJsonText } from './control/json.js';
export {
  controlSocketDir,
  controlSocketPath,
  DEFAULT_NODE_NAME,
  defaultControlSocket,
  type SocketPlace,
} from './control/socket-path.js';
export type { NodeView, ProcessView, ServiceView, WorkflowView } from './control/views.js';
export { DEFAULT_LIMITS } from './limits.js';
export { type LintResult, lintApplication } from './lint.js';
export type { NodeNatsOption } from './nats-connections.js';
export {
  ApplicationError,
  type ClusterSettings,
  MAIN_HOST,
  Node,
  type NodeOptions,
  type RunOptions,
  type RunOutcome,
  type SpawnOptions,
  type StopResult,
} from './node.js';
export type { PlacementRule } from './placement.js';
export { processConsole, type TerminalConsole } from './terminal/console.js';
export {
  DEFAULT_WORKFLOW_LIST_LIMIT,
  parseStatuses,
  type WorkflowQuery,
} from './workflow-list.js';
