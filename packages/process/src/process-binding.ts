import { LuactError } from '@luact/core';
import { decodeValue, encodeValue, type HostFunction, type LuaState, type LuaVm } from '@luact/lua';
import { luaBytes, luaText, pushFailure, pushRefusal, requiredText } from './host-call.js';
import { type NameScope, parseNameScope } from './names.js';
import type { Answer, CallSite, LuaSpawn, ProcessApi, StartupMessage } from './process-api.js';
import { VALUE_LIMITS } from './value-limits.js';

/**
 * The one Lua binding of `process`, `funcs` and `ctx`: it reads what Lua passed, asks the
 * actor's `ProcessApi`, and answers Lua (`value`, or `false, kind, message`, which the Lua side
 * turns into `nil, err`; or a token to wait on when the answer comes later). Processes and
 * workflow runs share it; only their `ProcessApi` differs.
 */
export interface ProcessBinding {
  readonly process: Record<string, HostFunction>;
  readonly funcs: Record<string, HostFunction>;
  readonly ctx: Record<string, HostFunction>;
}

const NO_MESSAGES: readonly StartupMessage[] = [];
/** No arguments: msgpack's empty array, as the kernel encodes none. */
const NO_ARGS = Uint8Array.of(0x90);

/** The spawn flags as process.lua numbers them. */
const SPAWN_MONITOR = 1;
const SPAWN_LINK = 2;

export function processBinding<Actor>(api: ProcessApi<Actor>): ProcessBinding {
  // One call site reader for every call: no allocation on the send path. It is only read
  // while the host function that set it runs (an operation that goes on later reads it first).
  const here = new CallSiteReader();
  const siteOf = (L: LuaState, vm: LuaVm): CallSite => here.at(L, vm);
  /**
   * A spawn host function, its request read by `read`; `true` alone when `read` found none (see
   * plainSpawnOf).
   */
  const spawnBy =
    (read: (L: LuaState, vm: LuaVm) => LuaSpawn | undefined): HostFunction =>
    (L, vm) => {
      const request = read(L, vm);
      if (request === undefined) {
        vm.stack.pushBoolean(L, true);
        return 1;
      }
      const actor = api.actorOf(vm);
      let result: Answer<string>;
      try {
        result = api.spawn(actor, request, siteOf(L, vm));
      } catch (error) {
        return pushFailure(L, vm, LuactError.from(error));
      }
      const parts = typeof result === 'string' ? api.pidParts?.(result) : undefined;
      if (parts === undefined) return answer(L, vm, api, actor, result);
      vm.stack.pushNumbered(L, parts.prefix, parts.number, parts.suffix);
      return 1;
    };
  const withDestination =
    (operation: (actor: Actor, to: string, site: CallSite) => Answer): HostFunction =>
    (L, vm) => {
      const actor = api.actorOf(vm);
      return attempt(L, vm, api, actor, () =>
        operation(actor, requiredText(L, vm, 1, 'the destination'), siteOf(L, vm)),
      );
    };
  const withName =
    (operation: (actor: Actor, name: string) => Answer<string | true>): HostFunction =>
    (L, vm) => {
      const actor = api.actorOf(vm);
      return attempt(L, vm, api, actor, () => operation(actor, requiredText(L, vm, 1, 'the name')));
    };

  const process: Record<string, HostFunction> = {
    pid(L, vm) {
      vm.stack.pushString(L, api.pid(api.actorOf(vm)));
      return 1;
    },
    entry_id(L, vm) {
      vm.stack.pushString(L, api.entry(api.actorOf(vm)));
      return 1;
    },
    // The hottest call there is: no closures, no intermediate objects.
    send(L, vm) {
      const actor = api.actorOf(vm);
      let result: Answer;
      try {
        result = api.send(
          actor,
          requiredText(L, vm, 1, 'the destination'),
          requiredText(L, vm, 2, 'the topic'),
          luaBytes(L, vm, 3),
          siteOf(L, vm),
        );
      } catch (error) {
        return pushFailure(L, vm, LuactError.from(error));
      }
      return answer(L, vm, api, actor, result);
    },
    // settle(token) → nothing yet (the fiber is woken when it comes), or the answer.
    settle(L, vm) {
      const settled = api.settle(api.actorOf(vm), vm.stack.integer(L, 1));
      if (settled === undefined) return 0;
      if (!settled.ok) return pushFailure(L, vm, settled.error);
      if (settled.value === true) vm.stack.pushBoolean(L, true);
      else if (typeof settled.value === 'string') vm.stack.pushString(L, settled.value);
      else vm.stack.pushBytes(L, settled.value);
      return 1;
    },
    // Hot too: no closure per spawn.
    spawn: spawnBy(spawnOf),
    spawn_plain: spawnBy(plainSpawnOf),
    terminate(L, vm) {
      const actor = api.actorOf(vm);
      let result: Answer;
      try {
        result = api.terminate(actor, requiredText(L, vm, 1, 'the destination'), siteOf(L, vm));
      } catch (error) {
        return pushFailure(L, vm, LuactError.from(error));
      }
      // An actor that terminated itself stops here, not at its next instruction hook.
      if (api.ended(actor)) return vm.raiseTerminated(L);
      return answer(L, vm, api, actor, result);
    },
    cancel(L, vm) {
      const actor = api.actorOf(vm);
      return attempt(L, vm, api, actor, () =>
        api.cancel(
          actor,
          requiredText(L, vm, 1, 'the destination'),
          luaText(L, vm, 2),
          siteOf(L, vm),
        ),
      );
    },
    monitor: withDestination((actor, to, site) => api.monitor(actor, to, site)),
    unmonitor: withDestination((actor, to) => api.unmonitor(actor, to)),
    link: withDestination((actor, to) => api.link(actor, to)),
    unlink: withDestination((actor, to) => api.unlink(actor, to)),
    get_trap_links(L, vm) {
      vm.stack.pushBoolean(L, api.trapLinks(api.actorOf(vm)));
      return 1;
    },
    set_trap_links(L, vm) {
      api.setTrapLinks(api.actorOf(vm), vm.stack.boolean(L, 1));
      return 0;
    },
    // mail_limits() → messages, bytes, message size of direct mail, or nothing.
    mail_limits(L, vm) {
      const limits = api.directMail(api.actorOf(vm));
      if (limits === undefined) return 0;
      vm.stack.pushInteger(L, limits.messages);
      vm.stack.pushInteger(L, limits.bytes);
      vm.stack.pushInteger(L, limits.messageSize);
      return 3;
    },
    inbox(L, vm) {
      api.mailbox(api.actorOf(vm)).openInbox(vm.stack.integer(L, 1));
      return 0;
    },
    events(L, vm) {
      api.mailbox(api.actorOf(vm)).openEvents(vm.stack.integer(L, 1));
      return 0;
    },
    listen(L, vm) {
      api
        .mailbox(api.actorOf(vm))
        .listen(requiredText(L, vm, 1, 'the topic'), vm.stack.integer(L, 2));
      return 0;
    },
    unlisten(L, vm) {
      api.mailbox(api.actorOf(vm)).unlisten(requiredText(L, vm, 1, 'the topic'));
      return 0;
    },
    register(L, vm) {
      const actor = api.actorOf(vm);
      return attempt(L, vm, api, actor, () => {
        const text = luaText(L, vm, 3);
        const scope = text === undefined ? undefined : parseNameScope(text);
        if (scope instanceof LuactError) return scope;
        return api.register(actor, requiredText(L, vm, 1, 'the name'), luaText(L, vm, 2), scope);
      });
    },
    lookup: withName((actor, name) => api.lookup(actor, name)),
    unregister(L, vm) {
      const actor = api.actorOf(vm);
      return attempt(L, vm, api, actor, () => {
        const text = luaText(L, vm, 2);
        const scope = text === undefined ? undefined : parseNameScope(text);
        if (scope instanceof LuactError) return scope;
        return api.unregister(actor, requiredText(L, vm, 1, 'the name'), scope);
      });
    },
    upgrade(L, vm) {
      const actor = api.actorOf(vm);
      return attempt(L, vm, api, actor, () =>
        api.upgrade(actor, luaText(L, vm, 1), luaBytes(L, vm, 2)),
      );
    },
  };

  const funcs: Record<string, HostFunction> = {
    /**
     * call(entry, spec, args, channel) → the call; or, without a channel (a plain call that
     * waits for its result at once), the call and the channel made for its result, and the
     * result (status, bytes) when it is there already (a replayed workflow's call).
     */
    call(L, vm) {
      const actor = api.actorOf(vm);
      const given = vm.stack.isNumber(L, 4);
      const channel = given ? vm.stack.integer(L, 4) : vm.allocateFedChannel();
      const pushed = attempt(L, vm, api, actor, () => {
        const spec = specOf(L, vm, 2);
        return api.call(
          actor,
          {
            entry: requiredText(L, vm, 1, 'the function entry'),
            args: luaBytes(L, vm, 3),
            channel,
            waits: !given,
            ...(spec.context !== undefined ? { context: spec.context } : {}),
            ...(spec.options !== undefined ? { options: spec.options } : {}),
          },
          siteOf(L, vm),
        );
      });
      if (given || pushed !== 1) return pushed;
      vm.stack.pushInteger(L, channel);
      const ready = vm.current?.group.take(channel);
      if (ready === undefined) return 2;
      vm.stack.pushString(L, String(ready.a));
      vm.stack.pushBytes(L, ready.b instanceof Uint8Array ? ready.b : new Uint8Array());
      return 4;
    },
    cancel_call(L, vm) {
      const actor = api.actorOf(vm);
      vm.stack.pushBoolean(
        L,
        api.cancelCall(actor, requiredText(L, vm, 1, 'the call'), siteOf(L, vm)),
      );
      return 1;
    },
  };

  const ctx: Record<string, HostFunction> = {
    get(L, vm) {
      const value = api.context(api.actorOf(vm), requiredText(L, vm, 1, 'the key'));
      if (value === undefined) return 0;
      vm.stack.pushBytes(L, value);
      return 1;
    },
    all(L, vm) {
      vm.stack.pushBytes(L, encodeValue(api.contextValues(api.actorOf(vm))));
      return 1;
    },
  };

  return { process, funcs, ctx };
}

// ── Reading Lua ───────────────────────────────────────────────────────────────────────────────

/** Reads where the Lua code of the running host call stands (see `CallSite`). */
class CallSiteReader {
  private L: LuaState | undefined;
  private vm: LuaVm | undefined;
  private readonly read: CallSite = () =>
    this.L === undefined || this.vm === undefined ? undefined : this.vm.callSite(this.L);

  at(L: LuaState, vm: LuaVm): CallSite {
    this.L = L;
    this.vm = vm;
    return this.read;
  }
}

/** What a spawner or executor carries (context, options, name, startup messages), decoded. */
interface LuaSpec {
  readonly context?: Record<string, unknown>;
  readonly options?: Record<string, unknown>;
  readonly name?: string;
  /** `with_name`'s scope as Lua wrote it (checked there). */
  readonly name_scope?: string;
  /** Payloads arrive as strings when their bytes happen to be valid UTF-8. */
  readonly messages?: readonly (readonly [string, Uint8Array | string])[];
}

const NO_SPEC: LuaSpec = {};

function specOf(L: LuaState, vm: LuaVm, index: number): LuaSpec {
  return vm.stack.isString(L, index) ? checkedSpec(decodeValue(luaBytes(L, vm, index))) : NO_SPEC;
}

/**
 * A spec as the kernel encodes one (process.lua's spawners, funcs.lua's executors), checked
 * where it enters the runtime: fields by string keys (a table with other keys decodes as a Map,
 * which a lookup by name would take for no fields at all), startup messages of an unreserved
 * topic and an encoded payload.
 */
function checkedSpec(spec: unknown): LuaSpec {
  if (!isFields(spec)) throw invalidSpec('its fields are not a table of named fields');
  for (const field of ['context', 'options'] as const)
    if (spec[field] !== undefined && !isFields(spec[field]))
      throw invalidSpec(`its ${field} is not a table of named fields (keys must be strings)`);
  const { messages } = spec;
  if (messages !== undefined) {
    if (!Array.isArray(messages)) throw invalidSpec('its startup messages are not a list');
    for (const message of messages) {
      const [topic, payload] = Array.isArray(message) ? message : [];
      if (
        typeof topic !== 'string' ||
        !(typeof payload === 'string' || payload instanceof Uint8Array)
      )
        throw invalidSpec('a startup message is not a topic and an encoded payload');
      if (topic.startsWith('@'))
        throw invalidSpec(`startup message topic "${topic}" is reserved (topics starting with @)`);
    }
  }
  return spec as LuaSpec;
}

/** A plain table of string keys, as msgpack decodes one. */
function isFields(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Map) &&
    !(value instanceof Uint8Array)
  );
}

function invalidSpec(problem: string): LuactError {
  return new LuactError('INVALID', `spawn or call: ${problem}`, { retryable: false });
}

/** The spawn flags' follow, by flags: one object each, not one per spawn. */
const FOLLOWS = [0, 1, 2, 3].map((flags) => ({
  monitor: (flags & SPAWN_MONITOR) !== 0,
  link: (flags & SPAWN_LINK) !== 0,
}));

/** `host.spawn(entry, host, flags, spec, args, result_channel)` as process.lua calls it. */
function spawnOf(L: LuaState, vm: LuaVm): LuaSpawn {
  // Read as a number: an integer read makes a BigInt per spawn.
  const flags = vm.stack.number(L, 3);
  const spec = specOf(L, vm, 4);
  const entry = requiredText(L, vm, 1, 'the entry');
  const host = requiredText(L, vm, 2, 'the host');
  // Arguments are only read (pushed into the child, sent, kept for an upgrade).
  const args = vm.stack.readBytes(L, 5) ?? NO_ARGS;
  const follow = FOLLOWS[flags & (SPAWN_MONITOR | SPAWN_LINK)] as LuaSpawn['follow'];
  // A plain spawn (the common case) builds one object.
  if (spec === NO_SPEC && !vm.stack.isNumber(L, 6))
    return { entry, host, args, follow, messages: NO_MESSAGES };
  return {
    entry,
    host,
    args,
    follow,
    messages: spec.messages === undefined ? NO_MESSAGES : spec.messages.map(startupMessage),
    ...(spec.context !== undefined ? { context: spec.context } : {}),
    ...(spec.options !== undefined ? { options: spec.options } : {}),
    ...(spec.name !== undefined ? { name: spec.name } : {}),
    ...(spec.name_scope !== undefined ? { nameScope: scopeOf(spec.name_scope) } : {}),
    ...(vm.stack.isNumber(L, 6) ? { resultChannel: vm.stack.integer(L, 6) } : {}),
  };
}

/**
 * The spawn with no spawner values, `host.spawn_plain(entry, host[, args])` (no arguments:
 * none). Undefined when the entry or the host is not a string of a reference's size: then
 * process.spawn takes the path that checks everything, and says what is wrong.
 */
function plainSpawnOf(L: LuaState, vm: LuaVm): LuaSpawn | undefined {
  const entry = vm.stack.text(L, 1, VALUE_LIMITS.referenceBytes);
  const host = vm.stack.text(L, 2, VALUE_LIMITS.referenceBytes);
  if (entry === undefined || host === undefined) return undefined;
  const args = vm.stack.readBytes(L, 3) ?? NO_ARGS;
  return { entry, host, args, follow: PLAIN_FOLLOW, messages: NO_MESSAGES };
}

const PLAIN_FOLLOW = FOLLOWS[0] as LuaSpawn['follow'];

function scopeOf(text: string): NameScope {
  const scope = parseNameScope(text);
  if (scope instanceof LuactError) throw scope;
  return scope;
}

function startupMessage([topic, payload]: readonly [string, Uint8Array | string]): StartupMessage {
  return {
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload,
  };
}

// ── Answering Lua ─────────────────────────────────────────────────────────────────────────────

function answer<Actor>(
  L: LuaState,
  vm: LuaVm,
  api: ProcessApi<Actor>,
  actor: Actor,
  result: Answer<string | true>,
): number {
  if (result === true) vm.stack.pushBoolean(L, true);
  else if (typeof result === 'string') vm.stack.pushString(L, result);
  else if (result instanceof LuactError) return pushRefusal(L, vm, result);
  else vm.stack.pushInteger(L, api.defer(actor, result));
  return 1;
}

function attempt<Actor>(
  L: LuaState,
  vm: LuaVm,
  api: ProcessApi<Actor>,
  actor: Actor,
  operation: () => Answer<string | true>,
): number {
  let result: Answer<string | true>;
  try {
    result = operation();
  } catch (error) {
    return pushRefusal(L, vm, LuactError.from(error));
  }
  return answer(L, vm, api, actor, result);
}
