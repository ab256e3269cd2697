import type { EntryId } from '@luact/core';
import type { FiberGroup, GroupOutcome, GroupOwner, LuaVm } from '@luact/lua';
import type { ProcessHost } from './host.js';
import { type FedSink, Mailbox } from './mailbox.js';
import type { Pid } from './pid.js';
import type { ExitOutcome } from './transport.js';

/** Where the end of a process is reported: a fed channel of another process (exec, funcs). */
export interface OutcomeWaiter {
  readonly process: Process;
  readonly channel: number;
}

/** A pending `process.upgrade`: the code to restart with. */
interface Upgrade {
  readonly entry: EntryId;
  readonly args: Uint8Array;
}

/**
 * A running Lua process: its PID, mailbox, links, monitors, names and context, around the
 * fiber group that runs its code. Exits are reported to the system, which does the rest.
 */
export class Process implements GroupOwner {
  group: FiberGroup | undefined;
  readonly mailbox: Mailbox;
  /** Processes linked to this one (both directions are recorded). */
  readonly links = new Set<Pid>();
  /** Processes that monitor this one. */
  readonly monitors = new Set<Pid>();
  /** Processes this one monitors. */
  readonly monitoring = new Set<Pid>();
  readonly names = new Set<string>();
  readonly outcomeWaiters: OutcomeWaiter[] = [];
  readonly exitListeners = new Set<(outcome: ExitOutcome) => void>();
  trapLinks = false;
  upgrade: Upgrade | undefined;
  exited = false;

  constructor(
    readonly pid: Pid,
    readonly host: ProcessHost,
    public entry: EntryId,
    readonly context: ReadonlyMap<string, Uint8Array>,
    private readonly onExit: (process: Process, outcome: GroupOutcome) => void,
  ) {
    this.mailbox = new Mailbox(detachedSink);
  }

  get vm(): LuaVm {
    return this.host.vm;
  }

  /** Binds the process to the fiber group that now runs its code. */
  attach(group: FiberGroup): void {
    const vm = this.vm;
    const sink: FedSink = {
      deliver: (channel, a, b, c) => vm.deliver(group, channel, a, b, c),
      pendingIn: (channel) => group.pendingIn(channel),
      release: (channel) => group.releaseChannel(channel),
    };
    this.mailbox.rebind(sink);
    this.group = group;
  }

  onGroupExit(group: FiberGroup, outcome: GroupOutcome): void {
    if (group !== this.group) return;
    this.onExit(this, outcome);
  }

  labels(): Record<string, string> {
    return { pid: this.pid, entry: this.entry };
  }
}

/** Before a process has a group, nothing can be queued in fed channels: all of it is retained. */
const detachedSink: FedSink = {
  deliver: () => {
    throw new Error('a mailbox without a fiber group has no channels');
  },
  pendingIn: () => 0,
  release: () => [],
};
