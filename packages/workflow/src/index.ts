export { activityOptions, DEFAULT_RETRY } from './activity-options.js';
export type { RunStatus } from './driver.js';
export {
  type StartRequest,
  streamOf,
  WorkflowHost,
  type WorkflowHostOptions,
  type WorkflowSummary,
  workflowPidParts,
} from './host.js';
export { checkWorkflowId, WORKFLOW_MODULES, workflowModules } from './modules.js';
export type * from './records.js';
export { workflowPid } from './run.js';
