export { parseByteSize } from './byte-size.js';
export { formatDuration, parseDuration } from './duration.js';
export {
  type EntryId,
  type EntryIdParts,
  entryId,
  isValidName,
  NAME_PATTERN,
  parseEntryId,
  resolveReference,
  splitEntryId,
} from './entry-id.js';
export {
  ERROR_KINDS,
  type ErrorData,
  type ErrorDetails,
  type ErrorKind,
  errorKindFromName,
  isErrorKind,
  LUA_KIND_NAMES,
  LuactError,
  type LuactErrorOptions,
  retryableByDefault,
} from './errors.js';
export {
  checkIdRule,
  checkWorkflowId,
  type IdRule,
  idProblem,
  PROCESS_NAME_RULE,
  STREAM_ID_RULE,
  WORKFLOW_ID_RULE,
} from './id-rule.js';
export { err, ok, type Result } from './result.js';
export { milliseconds, type RetryPolicy, readRetryPolicy, retryDelay } from './retry-policy.js';
export { RingQueue } from './ring-queue.js';
