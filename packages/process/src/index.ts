export {
  checkArguments,
  checkContext,
  checkStartupMessages,
  type MailboxHolder,
  messageRoom,
} from './admission.js';
export { type LuaPlace, withCallSite } from './call-site.js';
export { type EnvBackend, envVariablesOf } from './env/env-module.js';
export { type BusEvent, EventBus, type EventHub, type EventSink } from './event-bus/bus.js';
export { compilePattern, type EventPattern } from './event-bus/pattern.js';
export { EVENT_KIND, eventDetails } from './events.js';
export { errorFromBytes, exitOutcome, linkFailure } from './exit.js';
export type { ExternalHost, ExternalSpawnRequest } from './external-host.js';
export type { FunctionCallRequest, FunctionInvocation, Invocation } from './function-calls.js';
export {
  checkRequires,
  type HostLimits,
  type HostWideCount,
  isLuaEntry,
  type LuaEntry,
  ProcessHost,
  type RequireProblem,
} from './host.js';
export { fallible, luaBytes, luaText, pushFailure, requiredText } from './host-call.js';
export type { HostCall, HostFunctionEntry } from './host-function-run.js';
export type { Inbox } from './inboxes.js';
export { answerLater, awaitLaterPrelude, type Later, settleLater } from './later.js';
export { LocalTransport } from './local-transport.js';
export { type FedSink, Mailbox, messageBytes } from './mailbox.js';
export { processLua, processModules } from './modules.js';
export {
  type ClusterNameEvents,
  type ClusterNames,
  NAME_SCOPES,
  NameRegistry,
  type NameScope,
  nameTaken,
  parseNameScope,
} from './names.js';
export { PendingAnswers } from './pending.js';
export {
  formatNameOnNode,
  formatPid,
  isPid,
  type NameOnNode,
  type NodeIdentity,
  nodeOf,
  type Pid,
  type PidParts,
  parseNameOnNode,
  parsePid,
} from './pid.js';
export { Process } from './process.js';
export type {
  Answer,
  CallSite,
  DirectMailLimits,
  Follow,
  LuaCall,
  LuaSpawn,
  ProcessApi,
  StartupMessage,
} from './process-api.js';
export { type ProcessBinding, processBinding } from './process-binding.js';
export { unknownName } from './process-names.js';
export type { Attempt } from './retried-calls.js';
export {
  FUNCTION_HOST,
  type HostThread,
  INBOX_HOST,
  type Placement,
  ProcessSystem,
  type ProcessSystemOptions,
  type Route,
  type SpawnRequest,
} from './system.js';
export type { NamesHere, ThreadNames, ThreadReceiver, ThreadRouter } from './threads.js';
export type {
  Delivery,
  Envelope,
  ExitOutcome,
  Handing,
  MailChannel,
  MailRecipient,
  RefusalSignal,
  RelationSignal,
  RemoteParent,
  RemoteSpawnRequest,
  Signal,
  Transport,
  TransportReceiver,
} from './transport.js';
export {
  boundedOutput,
  checkName,
  checkReason,
  checkTopic,
  VALUE_LIMITS,
} from './value-limits.js';
