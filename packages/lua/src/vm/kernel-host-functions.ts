import { ERROR_KINDS, LUA_KIND_NAMES, LuactError, retryableByDefault } from '@luact/core';
import { LUA_REGISTRYINDEX, type LuaState, LuaType } from '../wasm/lua-api.js';
import type { Delivery, DeliveryField, FedQueue, Fiber } from './fiber.js';
import type { HostFunction } from './host-function.js';
import type { LuaVm } from './lua-vm.js';

/** The functions the kernel's Lua files call (the `host` table they receive). */
export function kernelHostFunctions(): Record<string, HostFunction> {
  return {
    /**
     * fiber() → the ids of the running fiber and of its group, asked from a coroutine inside
     * it (a fiber's own thread holds them: see LuaVm.markThread).
     */
    fiber(L, vm) {
      const fiber = running(vm, 'fiber');
      vm.api._lua_pushnumber(L, fiber.id);
      vm.api._lua_pushnumber(L, fiber.group.id);
      return 2;
    },

    /**
     * share(table): the table is every process's (the kernel's own, keyed by fiber, group or
     * message): what it takes is the host's, not the process whose store made it grow.
     */
    share(L, vm) {
      if (vm.api._lua_type(L, 1) !== LuaType.table) throw new Error('share expects a table');
      vm.api._luact_sharetable(L, 1);
      return 0;
    },

    wake(L, vm) {
      const fiber = vm.fiberById(vm.api._lua_tonumberx(L, 1, 0));
      if (fiber !== undefined) vm.wake(fiber);
      return 0;
    },

    /** pull(channel) → true, a, b, c: the oldest delivery queued for a fed channel, or nothing. */
    pull(L, vm) {
      const channel = vm.api._lua_tonumberx(L, 1, 0);
      const delivery = running(vm, 'pull').group.take(channel);
      if (delivery === undefined) return 0;
      vm.api._lua_pushboolean(L, 1);
      pushField(L, vm, delivery.a);
      pushField(L, vm, delivery.b);
      pushField(L, vm, delivery.c);
      return 4;
    },

    /**
     * pull_mail(channel, buffer, slot, room, budget) → count, bytes, more: moves up to `room`
     * messages queued for mail channel `channel`, oldest first, to the end of its Lua queue
     * `buffer` (four slots each from `slot`: see kernel/channel.lua, "Mail channels"), taking
     * no more once they count for `budget` bytes; `bytes` is what they count for there, `more`
     * whether more are queued. One call for many messages: a process that fell behind takes
     * what JS holds for it a batch at a time, and once JS holds none, mail from its own engine
     * comes to it directly again.
     */
    pull_mail(L, vm) {
      const { api } = vm;
      const queue = running(vm, 'pull_mail').group.queue(api._lua_tonumberx(L, 1, 0));
      let slot = api._lua_tonumberx(L, 3, 0);
      const room = api._lua_tonumberx(L, 4, 0);
      const budget = api._lua_tonumberx(L, 5, 0);
      let count = 0;
      let bytes = 0;
      const taken: Delivery[] = [];
      try {
        for (; count < room && bytes < budget; count++) {
          const delivery = queue.shift();
          if (delivery === undefined) break;
          taken.push(delivery);
          const { a: topic, b: from, c: payload } = delivery;
          const size = fieldLength(topic) + fieldLength(payload);
          bytes += size;
          pushField(L, vm, payload);
          api._lua_rawseti(L, 2, BigInt(slot));
          api._lua_pushnumber(L, -size);
          api._lua_rawseti(L, 2, BigInt(slot + 1));
          pushField(L, vm, from);
          api._lua_rawseti(L, 2, BigInt(slot + 2));
          pushField(L, vm, topic);
          api._lua_rawseti(L, 2, BigInt(slot + 3));
          slot += 4;
        }
      } catch (error) {
        // A push the process's memory refused unwinds past the Lua queue's count, which then
        // never learns what was written: what this pull took goes back, in order, for the next.
        queue.putBack(taken);
        throw error;
      }
      // Integers: the Lua queue's indices are computed from the count.
      api._lua_pushinteger(L, BigInt(count));
      api._lua_pushinteger(L, BigInt(bytes));
      api._lua_pushboolean(L, queue.length > 0 ? 1 : 0);
      return 3;
    },

    /** await_feed(channel): wake the running fiber when JS queues something for `channel`. */
    await_feed(L, vm) {
      const fiber = running(vm, 'await_feed');
      awaitQueue(fiber, fiber.group.queue(vm.api._lua_tonumberx(L, 1, 0)));
      return 0;
    },

    /**
     * pull_or_await(channel) → true, a, b, c as `pull` does; or, with nothing queued, nothing,
     * and the running fiber is woken when JS queues something: one call where a receive about
     * to block would make two.
     */
    pull_or_await(L, vm) {
      const fiber = running(vm, 'pull_or_await');
      const channel = vm.api._lua_tonumberx(L, 1, 0);
      const delivery = fiber.group.take(channel);
      if (delivery === undefined) {
        awaitQueue(fiber, fiber.group.queue(channel));
        return 0;
      }
      vm.api._lua_pushboolean(L, 1);
      pushField(L, vm, delivery.a);
      pushField(L, vm, delivery.b);
      pushField(L, vm, delivery.c);
      return 4;
    },

    /** coroutine.running() in a fiber: whether it runs in the fiber itself, whose thread its code then holds. */
    running_fiber(L, vm) {
      const fiber = vm.current;
      const top = fiber !== undefined && fiber.thread === L;
      if (top) fiber.threadHeld = true;
      vm.api._lua_pushboolean(L, top ? 1 : 0);
      return 1;
    },

    /** Raises TERMINATED in the calling thread, and again at each of its next instructions. */
    raise_terminated(L, vm) {
      return vm.raiseTerminated(L);
    },

    take_preempt(L, vm) {
      vm.api._lua_pushboolean(L, vm.takePreempt() ? 1 : 0);
      return 1;
    },

    /** coroutine.spawn(fn, ...): a new fiber of the running process. */
    spawn_fiber(L, vm) {
      const parent = running(vm, 'coroutine.spawn');
      const { api } = vm;
      const values = api._lua_gettop(L);
      const thread = vm.newThread(L);
      // run_fiber, the function and its arguments: lua_xmove does not check for room, and a
      // thread's stack starts at 40 slots.
      if (api._lua_checkstack(thread.state, values + 1) === 0) {
        vm.releaseThread(thread);
        throw new LuactError(
          'INVALID',
          `coroutine.spawn: ${values - 1} arguments do not fit on a fiber's stack`,
          { retryable: false },
        );
      }
      api._lua_rawgeti(thread.state, LUA_REGISTRYINDEX, vm.kernelKey('run_fiber'));
      api._lua_xmove(L, thread.state, values);
      const fiber = vm.spawnFiber(parent.group, thread, values);
      api._lua_pushnumber(L, fiber.id);
      return 1;
    },

    fed_channel(L, vm) {
      running(vm, 'fed channel');
      vm.api._lua_pushnumber(L, vm.allocateFedChannel());
      return 1;
    },

    /** mail_channel() → the id of a new mail channel of the running group. */
    mail_channel(L, vm) {
      const group = running(vm, 'mail channel').group;
      const channel = vm.allocateFedChannel();
      group.addMailChannel(channel);
      vm.api._lua_pushnumber(L, channel);
      return 1;
    },

    /** The running group keeps Lua-side state that must be dropped when it ends. */
    group_has_state(_L, vm) {
      running(vm, 'group state').group.hasLuaState = true;
      return 0;
    },

    /**
     * error_kind(i) → kind, Lua name, retryable by default: the i-th error kind, or nothing past
     * the last. The errors kernel file builds its tables from these, so TypeScript's table is
     * the only one.
     */
    error_kind(L, vm) {
      const kind = ERROR_KINDS[vm.api._lua_tonumberx(L, 1, 0) - 1];
      if (kind === undefined) return 0;
      vm.memory.pushString(L, kind);
      vm.memory.pushString(L, LUA_KIND_NAMES[kind]);
      vm.api._lua_pushboolean(L, retryableByDefault(kind) ? 1 : 0);
      return 3;
    },

    /** host_table(nseq) → a new empty table with room for that much, the host's (see LuaVm.pushHostTable). */
    host_table(L, vm) {
      vm.pushHostTable(L, vm.api._lua_tonumberx(L, 1, 0));
      return 1;
    },

    /** create_table(nseq, nrec) → a new empty table with room for that much (table.create). */
    create_table(L, vm) {
      vm.api._lua_createtable(L, vm.api._lua_tonumberx(L, 1, 0), vm.api._lua_tonumberx(L, 2, 0));
      return 1;
    },

    /**
     * new_userdata(n) → an empty full userdata with `n` user values (default none): an opaque
     * value Lua code cannot read or change except through the metatable the kernel or a module
     * gives it (error objects; time's Time, Duration and Location).
     */
    new_userdata(L, vm) {
      vm.api._lua_newuserdatauv(L, 0, vm.api._lua_tonumberx(L, 1, 0));
      return 1;
    },

    print(L, vm) {
      vm.options.print?.(vm.memory.toString(L, 1) ?? '');
      return 0;
    },
  };
}

function running(vm: LuaVm, what: string) {
  const fiber = vm.current;
  if (fiber === undefined) throw new Error(`${what} is only available inside a process`);
  return fiber;
}

/** What a delivery's text or bytes count for in a mail channel's box (see pull_mail). */
function fieldLength(field: DeliveryField): number {
  return typeof field === 'string' || field instanceof Uint8Array ? field.length : 0;
}

function pushField(L: LuaState, vm: LuaVm, field: DeliveryField): void {
  const { api } = vm;
  if (field === undefined) api._lua_pushnil(L);
  else if (typeof field === 'string') vm.memory.pushString(L, field);
  else if (field instanceof Uint8Array) vm.memory.pushBytes(L, field);
  else if (typeof field === 'boolean') api._lua_pushboolean(L, field ? 1 : 0);
  else if (typeof field === 'bigint') api._lua_pushinteger(L, field);
  else if (Number.isInteger(field)) api._lua_pushinteger(L, BigInt(field));
  else api._lua_pushnumber(L, field);
}

/** Wakes `fiber` when JS queues something for `queue`. */
function awaitQueue(fiber: Fiber, queue: FedQueue): void {
  queue.addWaiter(fiber);
  // A literal of one: an empty array that grows by push reserves room for 17.
  if (fiber.awaiting === undefined) fiber.awaiting = [queue];
  else fiber.awaiting.push(queue);
}
