export {
  decodeValue,
  decodeValues,
  ERROR_EXT_TYPE,
  encodeValue,
  encodeValues,
} from './codec/wire.js';
export {
  type StrippedSource,
  stripTypeAnnotations,
  type TypeAnnotationError,
} from './dialect/strip-types.js';
export { base64Module } from './modules/base64.js';
export {
  type BuiltinOptions,
  builtinModules,
  type LogLevel,
  type LogRecord,
} from './modules/builtin.js';
export { type CryptoSources, cryptoModule } from './modules/crypto.js';
export { hashModule } from './modules/hash.js';
export { textModule } from './modules/text.js';
export { timeValueFunctions } from './modules/time-zones.js';
export { yamlModule } from './modules/yaml.js';
export {
  type Clock,
  ManualClock,
  type SystemClock,
  systemClock,
  type WallAnchor,
  wallAnchor,
} from './vm/clock.js';
export {
  type Delivery,
  type DeliveryField,
  FedQueue,
  Fiber,
  FiberGroup,
  type GroupOutcome,
  type GroupOwner,
} from './vm/fiber.js';
export { GLOBAL_MODULES } from './vm/global-modules.js';
export type { HostFunction, LuaModuleSpec } from './vm/host-function.js';
export type { SharedHostMemory } from './vm/host-memory-lease.js';
export { HostMemoryPool } from './vm/host-memory-pool.js';
export type { HostStack } from './vm/host-stack.js';
export { luaSource } from './vm/kernel-files.js';
export {
  DEFAULT_ENGINE_LIMIT,
  EngineMemory,
  LuaHeap,
  type MemoryLimitKind,
} from './vm/lua-heap.js';
export {
  type EntrySource,
  encodeError,
  LuaVm,
  type LuaVmLimits,
  type LuaVmOptions,
  type MailHeld,
  type PreparedEntry,
  type SliceObserver,
} from './vm/lua-vm.js';
export { literalRequires } from './vm/requires.js';
export { loadLuaApi } from './wasm/load-module.js';
export {
  LUA_REGISTRYINDEX,
  type LuaApi,
  type LuaState,
  LuaStatus,
  LuaType,
} from './wasm/lua-api.js';
export { WasmMemory } from './wasm/memory.js';
