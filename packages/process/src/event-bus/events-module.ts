import { readFileSync } from 'node:fs';
import { LuactError } from '@luact/core';
import {
  encodeValue,
  type FiberGroup,
  type HostFunction,
  type LuaModuleSpec,
  type LuaVm,
} from '@luact/lua';
import { fallible, luaText, pushFailure } from '../host-call.js';
import { awaitLaterPrelude, settleLater } from '../later.js';
import { Process } from '../process.js';
import type { ProcessSystem } from '../system.js';
import type { BusEvent, EventHub } from './bus.js';
import { compilePattern, type EventPattern } from './pattern.js';

/** Bounds of what one process may hold or hand to the bus. */
export const EVENT_LIMITS = {
  /** Events queued for one subscription and not yet received; later ones are dropped. */
  queuedPerSubscription: 1024,
  /** Subscriptions one process may have open at once. */
  subscriptionsPerProcess: 1024,
  /** A system, kind or path, in bytes. */
  nameBytes: 1024,
  /** The encoded data of one event, in bytes. */
  dataBytes: 1024 * 1024,
} as const;

interface OpenSubscription {
  readonly channel: number;
  readonly close: () => void;
  dropped: number;
}

/**
 * The `events` module: Lua processes publish to and subscribe on the node's event bus. A
 * subscription feeds a channel of its process and ends with the process (or `sub:close()`).
 */
export function eventsModule(bus: EventHub, processes: ProcessSystem): LuaModuleSpec {
  const open = new WeakMap<FiberGroup, Map<number, OpenSubscription>>();
  let nextId = 1;

  const subscriptionsOf = (group: FiberGroup) => {
    let map = open.get(group);
    if (!map) {
      const created = new Map<number, OpenSubscription>();
      group.onEnd(() => {
        for (const subscription of created.values()) subscription.close();
        created.clear();
      });
      open.set(group, created);
      map = created;
    }
    return map;
  };

  const functions: Record<string, HostFunction> = {
    /** subscribe(system, kind?, channel) → id, or false, kind, message. */
    subscribe(L, vm) {
      const group = running(vm).group;
      const system = pattern(luaText(L, vm, 1), 'system');
      if (system instanceof LuactError) return pushFailure(L, vm, system);
      const kindText = luaText(L, vm, 2);
      const kind =
        kindText === undefined || kindText === '' ? undefined : pattern(kindText, 'kind');
      if (kind instanceof LuactError) return pushFailure(L, vm, kind);
      const subscriptions = subscriptionsOf(group);
      if (subscriptions.size >= EVENT_LIMITS.subscriptionsPerProcess) {
        return pushFailure(
          L,
          vm,
          new LuactError(
            'RATE_LIMITED',
            `events.subscribe: this process has ${subscriptions.size} subscriptions open, the most one process may have (close some)`,
            { retryable: false },
          ),
        );
      }
      const channel = vm.stack.integer(L, 3);
      const id = nextId++;
      const subscription: OpenSubscription = {
        channel,
        dropped: 0,
        close: bus.subscribe(system, kind, (event) => {
          if (group.pendingIn(channel) >= EVENT_LIMITS.queuedPerSubscription) {
            subscription.dropped++;
            return false;
          }
          vm.deliver(group, channel, event.system, event.kind, pathAndData(event));
          return true;
        }),
      };
      subscriptions.set(id, subscription);
      vm.stack.pushInteger(L, id);
      // A subscription the bus takes later (a worker's, at main): Lua waits for it with a token.
      const taken = bus.subscribed?.();
      const owner = group.owner;
      if (taken === undefined || !(owner instanceof Process)) return 1;
      vm.stack.pushInteger(
        L,
        processes.pending.begin(
          owner,
          taken.then(() => true as const),
        ),
      );
      return 2;
    },

    settle: settleLater(processes),

    /** unsubscribe(id): ends the subscription and forgets what it had queued. */
    unsubscribe(L, vm) {
      const group = running(vm).group;
      const subscriptions = subscriptionsOf(group);
      const id = vm.stack.integer(L, 1);
      const subscription = subscriptions.get(id);
      if (subscription) {
        subscription.close();
        subscriptions.delete(id);
        group.releaseChannel(subscription.channel);
      }
      return 0;
    },

    /** dropped(id) → events this subscription missed because its queue was full. */
    dropped(L, vm) {
      const subscription = subscriptionsOf(running(vm).group).get(vm.stack.integer(L, 1));
      vm.stack.pushInteger(L, subscription?.dropped ?? 0);
      return 1;
    },

    /** send(system, kind, path, data?) → true, or false, kind, message. */
    send(L, vm) {
      return fallible(L, vm, () => {
        const system = name(luaText(L, vm, 1), 'events.send: the system');
        const kind = name(luaText(L, vm, 2), 'events.send: the kind');
        const path = name(luaText(L, vm, 3), 'events.send: the path');
        for (const checked of [system, kind, path])
          if (checked instanceof LuactError) return checked;
        const data = vm.stack.bytes(L, 4);
        if (data && data.length > EVENT_LIMITS.dataBytes) {
          return invalid(
            `events.send: the data of ${data.length} bytes exceeds the limit of ${EVENT_LIMITS.dataBytes} bytes`,
          );
        }
        bus.send({
          system: system as string,
          kind: kind as string,
          path: path as string,
          data: data && data.length > 0 ? data : undefined,
        });
        return true;
      });
    },
  };

  return { name: 'events', scope: 'module', source: EVENTS_LUA, functions };
}

const EVENTS_LUA =
  awaitLaterPrelude() + readFileSync(new URL('../../lua/events.lua', import.meta.url), 'utf8');
const ARRAY_OF_TWO = 0x92;
const NIL = Uint8Array.of(0xc0);
const encoded = new WeakMap<BusEvent, Uint8Array>();

/** msgpack [path, data], made once per event however many subscribers take it. */
function pathAndData(event: BusEvent): Uint8Array {
  let bytes = encoded.get(event);
  if (bytes === undefined) {
    const path = encodeValue(event.path);
    const data = event.data ?? NIL;
    bytes = new Uint8Array(1 + path.length + data.length);
    bytes[0] = ARRAY_OF_TWO;
    bytes.set(path, 1);
    bytes.set(data, 1 + path.length);
    encoded.set(event, bytes);
  }
  return bytes;
}

function pattern(text: string | undefined, what: 'system' | 'kind'): EventPattern | LuactError {
  const where = `events.subscribe: the ${what} pattern`;
  if (text === undefined || text === '') return invalid(`${where} must be a non-empty string`);
  const tooLong = sizeProblem(text, where);
  if (tooLong) return tooLong;
  const compiled = compilePattern(text);
  return typeof compiled === 'string' ? invalid(`events.subscribe: ${compiled}`) : compiled;
}

function name(text: string | undefined, what: string): string | LuactError {
  if (text === undefined || text === '') return invalid(`${what} must be a non-empty string`);
  return sizeProblem(text, what) ?? text;
}

function sizeProblem(text: string, what: string): LuactError | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= EVENT_LIMITS.nameBytes) return undefined;
  return invalid(`${what} of ${bytes} bytes exceeds the limit of ${EVENT_LIMITS.nameBytes} bytes`);
}

function invalid(message: string): LuactError {
  return new LuactError('INVALID', message, { retryable: false });
}

function running(vm: LuaVm) {
  const fiber = vm.current;
  if (fiber === undefined) throw new Error('events functions are only available inside a process');
  return fiber;
}
