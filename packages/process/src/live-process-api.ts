import { LuactError, resolveReference, splitEntryId } from '@luact/core';
import { decodeValue, encodeValue, type LuaVm } from '@luact/lua';
import { checkArguments } from './admission.js';
import { withCallSite } from './call-site.js';
import type { Mailbox } from './mailbox.js';
import type { NameScope } from './names.js';
import { Process } from './process.js';
import type {
  Answer,
  CallSite,
  DirectMailLimits,
  LuaCall,
  LuaSpawn,
  NumberedText,
  ProcessApi,
  Settled,
} from './process-api.js';
import { FUNCTION_HOST, type ProcessSystem, type SpawnRequest } from './system.js';
import type { Delivery } from './transport.js';
import { shorten } from './value-limits.js';

/**
 * `ProcessApi` for live processes: each call acts at once through the process system, which
 * routes it (a process here, a workflow host, another node). An answer that comes later (a
 * workflow journals first) is a promise Lua waits on.
 */
export class LiveProcessApi implements ProcessApi<Process> {
  constructor(private readonly system: ProcessSystem) {}

  actorOf(vm: LuaVm): Process {
    const owner = vm.current?.group.owner;
    if (!(owner instanceof Process)) throw new Error('only available inside a process');
    return owner;
  }

  pid(process: Process): string {
    return process.pid;
  }

  entry(process: Process): string {
    return process.entry;
  }

  mailbox(process: Process): Mailbox {
    return process.mailbox;
  }

  /** Half the host's mailbox limits: TypeScript checks (and explains) what comes near them. */
  directMail(process: Process): DirectMailLimits {
    const { max_mailbox, max_mailbox_bytes, max_message_size } = process.host.limits;
    return {
      messages: Math.floor(max_mailbox / 2),
      bytes: Math.floor(max_mailbox_bytes / 2),
      messageSize: max_message_size,
    };
  }

  trapLinks(process: Process): boolean {
    return process.trapLinks;
  }

  setTrapLinks(process: Process, trap: boolean): void {
    process.trapLinks = trap;
  }

  send(process: Process, to: string, topic: string, payload: Uint8Array): Answer {
    return answered(
      this.system.send({
        to: this.system.resolveDestination(to),
        from: process.pid,
        topic,
        payload,
      }),
    );
  }

  spawn(parent: Process, spawn: LuaSpawn, site: CallSite): Answer<string> {
    let pid: string | Promise<string>;
    try {
      pid = this.system.spawnAnywhere(spawnRequest(parent, spawn));
    } catch (error) {
      // A missing entry or host is told with the Lua line that named it.
      throw withCallSite(error, site);
    }
    if (typeof pid === 'string') return pid;
    // The Lua stack moves on once this call returns: where it stands is read now.
    const place = site();
    return pid.catch((error: unknown) => {
      throw withCallSite(error, () => place);
    });
  }

  pidParts(pid: string): NumberedText | undefined {
    return this.system.lastPidParts(pid);
  }

  cancel(process: Process, to: string, reason: string | undefined): Answer {
    return answered(
      this.system.signal({
        kind: 'cancel',
        to: this.system.resolveDestination(to),
        from: process.pid,
        at: this.system.clock.now(),
        reason,
      }),
    );
  }

  terminate(process: Process, to: string): Answer {
    return answered(
      this.system.signal({
        kind: 'terminate',
        to: this.system.resolveDestination(to),
        from: process.pid,
      }),
    );
  }

  ended(process: Process): boolean {
    return process.exited;
  }

  monitor(process: Process, to: string): Answer {
    return answered(this.system.monitor(process, this.system.resolveDestination(to)));
  }

  unmonitor(process: Process, to: string): Answer {
    this.system.unmonitor(process, this.system.resolveDestination(to));
    return true;
  }

  link(process: Process, to: string): Answer {
    return answered(this.system.link(process, this.system.resolveDestination(to)));
  }

  unlink(process: Process, to: string): Answer {
    this.system.unlink(process, this.system.resolveDestination(to));
    return true;
  }

  register(
    process: Process,
    name: string,
    pid: string | undefined,
    scope: NameScope | undefined,
  ): Answer {
    const owner = pid === undefined ? process.pid : this.system.resolveDestination(pid);
    return answered(this.system.registerName(name, owner, scope));
  }

  lookup(_process: Process, name: string): Answer<string> {
    return this.system.lookupName(name);
  }

  unregister(_process: Process, name: string, scope: NameScope | undefined): Answer {
    return answered(this.system.unregisterName(name, scope));
  }

  upgrade(process: Process, requested: string | undefined, args: Uint8Array): Answer {
    // A call ends when its function returns: it cannot go on as a process (of the host every
    // process's calls share).
    if (process.host.id === FUNCTION_HOST)
      return new LuactError(
        'INVALID',
        `process.upgrade: ${process.entry} runs as a function call, which cannot become a process`,
        { retryable: false },
      );
    const namespace = splitEntryId(process.entry).namespace;
    let id = process.entry;
    if (requested !== undefined) {
      const resolved = resolveReference(requested, namespace);
      if (!resolved.ok)
        return new LuactError('INVALID', `process.upgrade: ${resolved.error}`, {
          retryable: false,
        });
      id = resolved.value;
    }
    if (this.system.snapshot().get(id)?.kind !== 'process.lua') {
      return new LuactError(
        'NOT_FOUND',
        `process.upgrade: cannot upgrade to ${id}: no process.lua entry with that ID`,
        {
          retryable: false,
        },
      );
    }
    const tooLarge = checkArguments(args, id, process.host);
    if (tooLarge) return tooLarge;
    process.upgrade = { entry: id, args };
    return true;
  }

  call(process: Process, call: LuaCall, site: CallSite): Answer<string> {
    let context = process.context;
    if (call.context !== undefined) {
      const merged = new Map(process.context);
      for (const [key, value] of encodedContext(call.context)) merged.set(key, value);
      context = merged;
    }
    try {
      return this.system.call({
        entry: call.entry,
        args: call.args,
        caller: process,
        channel: call.channel,
        context,
        ...callOptions(call.options),
      });
    } catch (error) {
      throw withCallSite(error, site);
    }
  }

  cancelCall(process: Process, handle: string): boolean {
    return this.system.cancelCall(handle, process);
  }

  context(process: Process, key: string): Uint8Array | undefined {
    return process.context.get(key);
  }

  contextValues(process: Process): Record<string, unknown> {
    // Own fields whatever their names: an assignment of "__proto__" would set the prototype.
    return Object.fromEntries(
      Array.from(process.context, ([key, value]) => [key, decodeValue(value)]),
    );
  }

  defer(process: Process, work: Promise<string | true>): number {
    return this.system.pending.begin(process, work);
  }

  settle(process: Process, token: number): Settled | undefined {
    const fiber = process.vm.current;
    if (fiber === undefined) throw new Error('only available inside a process');
    return this.system.pending.take(token, fiber);
  }
}

/** A delivery as Lua's answer: `true` once done, the refusal, or a promise of `true`. */
function answered(delivery: Delivery): Answer {
  if (delivery === undefined) return true;
  if (delivery instanceof LuactError) return delivery;
  return delivery.then(() => true as const);
}

function encodedContext(values: Readonly<Record<string, unknown>>): Map<string, Uint8Array> {
  const context = new Map<string, Uint8Array>();
  for (const [key, value] of Object.entries(values)) context.set(key, encodeValue(value));
  return context;
}

/** The options of a call (`funcs` executors' `with_options`): `timeout` ms and `node`. */
function callOptions(options: Readonly<Record<string, unknown>> | undefined): {
  timeoutMs: number | undefined;
  node?: string;
} {
  if (options === undefined) return { timeoutMs: undefined };
  for (const key of Object.keys(options)) {
    if (key !== 'timeout' && key !== 'node')
      throw new LuactError('INVALID', `unknown call option "${shorten(key)}"`, {
        retryable: false,
      });
  }
  const { timeout, node } = options;
  if (node !== undefined && (typeof node !== 'string' || node === '')) {
    throw new LuactError('INVALID', 'the node option is the name of a node of the cluster', {
      retryable: false,
    });
  }
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    throw new LuactError('INVALID', 'the timeout option is a positive number of milliseconds', {
      retryable: false,
    });
  }
  return { timeoutMs: timeout as number | undefined, ...(node !== undefined ? { node } : {}) };
}

/** What the system is asked to spawn for `parent`; a plain spawn (the common case) is one object. */
function spawnRequest(parent: Process, spawn: LuaSpawn): SpawnRequest {
  const { entry, host, args, follow } = spawn;
  const plain =
    spawn.context === undefined &&
    spawn.name === undefined &&
    spawn.nameScope === undefined &&
    spawn.options === undefined &&
    spawn.messages.length === 0 &&
    spawn.resultChannel === undefined;
  if (plain) return { entry, host, args, parent, monitor: follow.monitor, link: follow.link };
  return {
    entry,
    host,
    args,
    parent,
    monitor: follow.monitor,
    link: follow.link,
    ...(spawn.context !== undefined ? { context: encodedContext(spawn.context) } : {}),
    ...(spawn.name !== undefined ? { name: spawn.name } : {}),
    ...(spawn.nameScope !== undefined ? { nameScope: spawn.nameScope } : {}),
    ...(spawn.options !== undefined ? { options: spawn.options } : {}),
    ...(spawn.messages.length > 0 ? { messages: spawn.messages } : {}),
    ...(spawn.resultChannel !== undefined ? { outcomeChannel: spawn.resultChannel } : {}),
  };
}
