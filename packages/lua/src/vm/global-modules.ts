/**
 * Globals every entry has that code written for Wippy also lists under `modules:` or loads
 * with `require`: listing one is allowed (it changes nothing), and `require(name)` hands over
 * the global. The Lua side keeps the same list (GLOBAL_MODULES in kernel/sandbox.lua; a test
 * checks they agree).
 */
export const GLOBAL_MODULES: ReadonlySet<string> = new Set([
  'string',
  'table',
  'math',
  'utf8',
  'coroutine',
  'os',
  'channel',
  'errors',
  'payload',
]);
