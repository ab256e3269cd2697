export { checkLuaEntries } from './check.js';
export { queryControl } from './control/client.js';
export { controlSocketPath, DEFAULT_NODE_NAME } from './control/socket-path.js';
export type { NodeView, ProcessView, ServiceView } from './control/views.js';
export { DEFAULT_LIMITS } from './limits.js';
export { type LintResult, lintApplication } from './lint.js';
export {
  ApplicationError,
  MAIN_HOST,
  Node,
  type NodeOptions,
  type RunOutcome,
  type StopResult,
} from './node.js';
