export { activateEntry, checkActivation } from './activate.js';
export type { Change, ChangeSet, EntryChange } from './changes.js';
export { type EntryCriteria, findEntries } from './criteria.js';
export type { DefinitionOrigin, EntryDefinition, FieldLocator } from './definition.js';
export {
  type Diagnostic,
  type DiagnosticCode,
  displayPath,
  formatDiagnostic,
  hasErrors,
  isError,
  type SourceLocation,
  sortDiagnostics,
} from './diagnostics.js';
export { findDefinitionFiles } from './discover.js';
export { compileDefinition, definitionFingerprint, type Entry, type EntryOf } from './entry.js';
export { entryCallProblems } from './entry-call-check.js';
export { type FieldPath, formatFieldPath } from './field-path.js';
export { DependencyGraph } from './graph.js';
export { DEFAULT_HISTORY_LIMIT, type RegistryHistory } from './history.js';
export {
  DECLARABLE_KINDS,
  isKind,
  KINDS,
  type Kind,
  type KindConfigs,
  lookupKind,
} from './kinds/catalog.js';
export type { NatsConnectionConfig, TemporalClientConfig } from './kinds/connections.js';
export {
  ENV_STORAGE_KINDS,
  type EnvStorageFileConfig,
  type EnvStorageKind,
  type EnvStorageRouterConfig,
  type EnvStorageStaticConfig,
  type EnvVariableConfig,
} from './kinds/env.js';
export {
  DEFAULT_HOST_LIMITS,
  DEFAULT_TASK_TIMEOUT,
  type HostLimitsConfig,
  type JournalConfig,
  type ProcessHostConfig,
  type WorkflowHostConfig,
} from './kinds/hosts.js';
export {
  DEFAULT_LIFECYCLE,
  DEFAULT_RESTART_POLICY,
  type Lifecycle,
  type RestartPolicy,
} from './kinds/lifecycle.js';
export type { LibraryConfig, LuaCodeConfig } from './kinds/lua.js';
export type { ChildSpec, ChildStart, ServiceConfig, SupervisorConfig } from './kinds/services.js';
export type { RegistryEntryConfig } from './kinds/values.js';
export {
  type ApplicationDefinitions,
  diffDefinitions,
  type LoadedApplication,
  loadApplication,
  type ReloadResult,
  readApplication,
  reloadApplication,
  type SkippedFile,
} from './loader.js';
export { unknownModules } from './lua-modules.js';
export type { Environment } from './placeholders.js';
export { type Plan, type PlanOptions, planChanges } from './plan.js';
export { processFunctionHost } from './process-functions.js';
export type { Reference } from './schema/index.js';
export { didYouMeanEntry } from './similar-entry.js';
export { RegistrySnapshot } from './snapshot.js';
export {
  Registry,
  type RegistryEvent,
  type RegistryListener,
  type RegistryOptions,
} from './store.js';
export { workflowHostOfQueue } from './task-queues.js';
export { readDefinitionFile } from './yaml/read-definitions.js';
