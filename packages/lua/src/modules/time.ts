import type { Fiber, FiberGroup } from '../vm/fiber.js';
import type { HostFunction, LuaModuleSpec } from '../vm/host-function.js';
import { luaSource } from '../vm/kernel-files.js';
import type { LuaVm } from '../vm/lua-vm.js';
import type { LuaState } from '../wasm/lua-api.js';
import { nodeZone, timeValueFunctions } from './time-zones.js';

/**
 * Timers one process may have armed at once: each holds a JS timer outside the Lua heap, which
 * the process's memory limit does not see.
 */
export const MAX_TIMERS_PER_PROCESS = 10_000;

/** The `time` module: clock reads and timers that tick into a process's fed channels. */
export function timeModule(): LuaModuleSpec {
  const timers = new WeakMap<FiberGroup, Map<number, () => void>>();

  const timersOf = (group: FiberGroup) => {
    let map = timers.get(group);
    if (!map) {
      const created = new Map<number, () => void>();
      group.onEnd(() => {
        for (const cancel of created.values()) cancel();
        created.clear();
      });
      timers.set(group, created);
      map = created;
    }
    return map;
  };

  const stop = (group: FiberGroup, channel: number): boolean => {
    const map = timersOf(group);
    const cancel = map.get(channel);
    if (!cancel) return false;
    cancel();
    map.delete(channel);
    return true;
  };

  const functions: Record<string, HostFunction> = {
    ...timeValueFunctions(nodeZone()),
    now(L, vm) {
      vm.api._lua_pushinteger(L, vm.clock.now());
      return 1;
    },

    /**
     * timer_start(channel, delay_ns, repeat_ns) → true: ticks `channel` after delay, then every
     * repeat; or nothing and the limit, when the process has that many timers armed.
     */
    timer_start(L, vm) {
      const group = running(vm).group;
      const channel = vm.api._lua_tonumberx(L, 1, 0);
      const delayMs = nsArgument(L, vm, 2) / 1e6;
      const repeatMs = nsArgument(L, vm, 3) / 1e6;
      stop(group, channel);
      const map = timersOf(group);
      if (map.size >= MAX_TIMERS_PER_PROCESS) {
        vm.api._lua_pushnil(L);
        vm.api._lua_pushinteger(L, BigInt(MAX_TIMERS_PER_PROCESS));
        return 2;
      }
      const arm = (ms: number) => {
        map.set(
          channel,
          vm.clock.schedule(ms, () => {
            if (repeatMs > 0) arm(repeatMs);
            else map.delete(channel);
            // A tick not yet received is not joined by another: late ticks are dropped.
            if (group.pendingIn(channel) > 0) return;
            if (repeatMs > 0) vm.deliver(group, channel, vm.clock.now());
            else vm.deliverLast(group, channel, vm.clock.now());
          }),
        );
      };
      arm(delayMs);
      vm.api._lua_pushboolean(L, 1);
      return 1;
    },

    timer_stop(L, vm) {
      const stopped = stop(running(vm).group, vm.api._lua_tonumberx(L, 1, 0));
      vm.api._lua_pushboolean(L, stopped ? 1 : 0);
      return 1;
    },

    /** timer_drop(channel): no process holds `channel` any more: its timer stops, its tick goes. */
    timer_drop(L, vm) {
      const { group } = running(vm);
      const channel = vm.api._lua_tonumberx(L, 1, 0);
      stop(group, channel);
      group.releaseChannel(channel);
      return 0;
    },
  };

  return { name: 'time', scope: 'module', source: luaSource('modules/time.lua'), functions };
}

function running(vm: LuaVm): Fiber {
  const fiber = vm.current;
  if (fiber === undefined) throw new Error('time functions are only available inside a process');
  return fiber;
}

function nsArgument(L: LuaState, vm: LuaVm, index: number): number {
  return Number(vm.api._lua_tointegerx(L, index, 0));
}
