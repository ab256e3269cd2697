import { readFileSync } from 'node:fs';
import { LuactError } from '@luact/core';
import type { FiberGroup, HostFunction, LuaModuleSpec, LuaState, LuaVm } from '@luact/lua';
import { Process, pushFailure } from '@luact/process';
import type { TerminalConsole } from './console.js';
import { RawMode } from './raw-mode.js';
import { type ReadRequest, StdinReader } from './stdin-reader.js';

export interface IoModuleOptions {
  readonly console: TerminalConsole;
  /** Whether `hostId` is a terminal.host: only its processes own the console. */
  readonly isTerminalHost: (hostId: string) => boolean;
}

/**
 * The `io` module: the console (stdin, stdout, stderr, the command line) for processes on a
 * terminal.host. Reads wait in the process that asked (its fed channel is answered when the
 * data is there), so other processes keep running. Anywhere else every call but `args` is
 * `nil, err` (UNAVAILABLE, "no terminal context").
 */
export function ioModule(options: IoModuleOptions): LuaModuleSpec {
  const { console } = options;
  const stdin = new StdinReader(console.stdin);
  const raw = new RawMode(console.stdin);
  const pendingReads = new WeakMap<FiberGroup, Set<() => void>>();

  /** The calling process's fibers when it owns the console, else the error saying why not. */
  const terminalGroup = (vm: LuaVm): FiberGroup | LuactError => {
    const group = vm.current?.group;
    const owner = group?.owner;
    if (group && owner instanceof Process && options.isTerminalHost(owner.host.id)) return group;
    const where =
      owner instanceof Process
        ? `${owner.entry} runs on ${owner.host.id}, which is not a terminal.host`
        : 'this code does not run in a process';
    return new LuactError(
      'UNAVAILABLE',
      `no terminal context: io works only in processes on a terminal.host (${where})`,
      { retryable: false },
    );
  };

  /**
   * The reads `group` waits for. Made on its first read or raw mode, with what its end does:
   * a process that ends while it waits leaves the input to the next reader, and gives back the
   * raw mode it held.
   */
  const readsOf = (group: FiberGroup): Set<() => void> => {
    let reads = pendingReads.get(group);
    if (!reads) {
      const created = new Set<() => void>();
      group.onEnd(() => {
        for (const cancel of created) cancel();
        created.clear();
        raw.release(group);
      });
      pendingReads.set(group, created);
      reads = created;
    }
    return reads;
  };

  const write = (L: LuaState, vm: LuaVm, stream: 'stdout' | 'stderr'): number => {
    const group = terminalGroup(vm);
    if (group instanceof LuactError) return pushFailure(L, vm, group);
    try {
      console[stream].write(vm.stack.bytes(L, 1) ?? new Uint8Array());
    } catch (error) {
      return pushFailure(
        L,
        vm,
        new LuactError('INTERNAL', `write ${stream}: ${LuactError.from(error).message}`, {
          retryable: false,
        }),
      );
    }
    vm.stack.pushBoolean(L, true);
    return 1;
  };

  const functions: Record<string, HostFunction> = {
    write_stdout: (L, vm) => write(L, vm, 'stdout'),
    write_stderr: (L, vm) => write(L, vm, 'stderr'),

    /** read(channel, count): a line when count is 0, else up to count bytes; answered on channel. */
    read(L, vm) {
      const group = terminalGroup(vm);
      if (group instanceof LuactError) return pushFailure(L, vm, group);
      const channel = vm.stack.integer(L, 1);
      const count = vm.stack.integer(L, 2);
      const request: ReadRequest = count === 0 ? { kind: 'line' } : { kind: 'bytes', max: count };
      const reads = readsOf(group);
      let answered = false;
      let waiting: (() => void) | undefined;
      const cancel = stdin.read(request, (result) => {
        answered = true;
        if (waiting) reads.delete(waiting);
        if (result.ok) vm.deliverLast(group, channel, true, result.data);
        else vm.deliverLast(group, channel, false, result.error.kind, result.error.message);
      });
      // Data already there answers at once; only a read still waiting is withdrawn at the end.
      if (!answered) {
        waiting = cancel;
        reads.add(cancel);
      }
      vm.stack.pushBoolean(L, true);
      return 1;
    },

    flush(L, vm) {
      const group = terminalGroup(vm);
      if (group instanceof LuactError) return pushFailure(L, vm, group);
      // Writes reach the stream in order as they are made: there is nothing held back.
      vm.stack.pushBoolean(L, true);
      return 1;
    },

    /** args() → the command-line arguments, one string each (none outside a terminal). */
    args(L, vm) {
      if (terminalGroup(vm) instanceof LuactError) return 0;
      vm.stack.reserve(L, console.args.length, 'io.args');
      for (const arg of console.args) vm.stack.pushString(L, arg);
      return console.args.length;
    },

    raw(L, vm) {
      const group = terminalGroup(vm);
      if (group instanceof LuactError) return pushFailure(L, vm, group);
      readsOf(group);
      const failed = raw.set(group, vm.stack.boolean(L, 1));
      if (failed) return pushFailure(L, vm, failed);
      vm.stack.pushBoolean(L, true);
      return 1;
    },
  };

  return {
    name: 'io',
    scope: 'module',
    source: readFileSync(new URL('../../lua/io.lua', import.meta.url), 'utf8'),
    functions,
  };
}
