export { activityOptions, DEFAULT_RETRY } from './activity-options.js';
export type { RunStatus } from './driver.js';
export {
  type AdoptedJournal,
  type CancelRequest,
  type CancelsOnce,
  type StartRequest,
  startRequestOf,
  WorkflowHost,
  type WorkflowHostOptions,
  type WorkflowStarter,
  type WorkflowSummary,
  workflowPidParts,
} from './host.js';
export { checkWorkflowId, WORKFLOW_MODULES, workflowModules } from './modules.js';
export type * from './records.js';
export { workflowPid } from './run.js';
export { streamOf } from './run-stream.js';
export {
  type ClosedStatus,
  closedStatus,
  LISTED_STATUSES,
  type ListedStatus,
  type RunSummary,
} from './run-summary.js';
