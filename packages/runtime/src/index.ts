export { checkLuaEntries } from './check.js';
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
