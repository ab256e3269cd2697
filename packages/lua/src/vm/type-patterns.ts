import { RE2JS } from 're2js';
import type { HostFunction } from './host-function.js';

/** How many compiled `@pattern` expressions a VM keeps; past that the oldest is dropped. */
const CACHE_SIZE = 256;

/**
 * The host function behind the `@pattern(…)` validator of declared types (lua/types.lua):
 * `type_pattern_test(pattern, subject)` is whether the RE2 expression (Go's syntax, as in Wippy)
 * matches somewhere in the subject's bytes, or nil and a message for a pattern that does not
 * compile. RE2 runs in time linear in the subject, so a check cannot stall the VM. Each VM
 * gets its own cache of compiled patterns.
 */
export function typePatternFunctions(): Record<string, HostFunction> {
  const compiled = new Map<string, RE2JS | string>();
  const compile = (pattern: string): RE2JS | string => {
    let hit = compiled.get(pattern);
    if (hit === undefined) {
      try {
        hit = RE2JS.compile(pattern);
      } catch (error) {
        hit = (error as Error).message;
      }
      if (compiled.size >= CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
      compiled.set(pattern, hit);
    }
    return hit;
  };
  return {
    type_pattern_test(L, vm) {
      const regexp = compile(vm.stack.text(L, 1) ?? '');
      if (typeof regexp === 'string') {
        vm.api._lua_pushnil(L);
        vm.stack.pushString(L, regexp);
        return 2;
      }
      vm.stack.pushBoolean(L, regexp.test(vm.stack.bytes(L, 2) ?? new Uint8Array()));
      return 1;
    },
  };
}
