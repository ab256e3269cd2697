import { forget, notAlive } from './delivery.js';
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import type { Delivery, Envelope, ExitOutcome, Signal } from './transport.js';

/** An address TypeScript code receives mail at, with no Lua process behind it. */
export interface Inbox {
  readonly pid: Pid;
  /**
   * Calls `onExit` once when `target` ends, wherever it runs (a process here or on another
   * node; "node down" when its node is lost). NOT_FOUND when it is not a live process.
   */
  watch(target: Pid, onExit: (outcome: ExitOutcome) => void): Delivery;
  /** Sending to the PID is NOT_FOUND from now on, as to an ended process. */
  close(): void;
}

/** What inboxes need of the process system. */
export interface InboxHost {
  /** A fresh PID of the inbox host, never reused within the node's lifetime. */
  nextPid(): Pid;
  /** The live process `pid` of this node, or whether it lives on another node. */
  whereIs(pid: Pid): Process | 'remote' | undefined;
  signal(signal: Signal): Delivery;
}

/** An inbox: what it receives, and the processes it watches. */
interface InboxState {
  readonly receive: (envelope: Envelope) => void;
  /** Outcomes of children spawned on other threads for the inbox (their `result` signals). */
  readonly result: ((channel: number, outcome: ExitOutcome) => void) | undefined;
  /** Each watched process, with what to call when it ends and how to stop watching it. */
  readonly watched: Map<Pid, { readonly onExit: (outcome: ExitOutcome) => void; stop(): void }>;
}

/**
 * The inboxes of TypeScript code on a node (a caller waiting for a reply, `Node.call`): PIDs
 * processes send to like to any other, which can also watch processes here or elsewhere.
 */
export class Inboxes {
  private readonly open = new Map<Pid, InboxState>();

  constructor(private readonly host: InboxHost) {}

  create(
    receive: (envelope: Envelope) => void,
    result?: (channel: number, outcome: ExitOutcome) => void,
  ): Inbox {
    const pid = this.host.nextPid();
    const state: InboxState = { receive, result, watched: new Map() };
    this.open.set(pid, state);
    return {
      pid,
      watch: (target, onExit) => this.watch(pid, state, target, onExit),
      close: () => {
        this.open.delete(pid);
        for (const watch of state.watched.values()) watch.stop();
        state.watched.clear();
      },
    };
  }

  /** What receives mail for `pid`, if it is an open inbox. */
  receiverOf(pid: Pid): ((envelope: Envelope) => void) | undefined {
    return this.open.get(pid)?.receive;
  }

  /**
   * An EXIT for an inbox that watches the process that ended, or the outcome of a child it
   * follows (`result`); false when it is none.
   */
  exitReached(signal: Signal): boolean {
    if (signal.kind === 'result') {
      const result = this.open.get(signal.to)?.result;
      result?.(signal.channel, signal.outcome);
      return result !== undefined;
    }
    if (signal.kind !== 'exit') return false;
    const watched = this.open.get(signal.to)?.watched;
    const watch = watched?.get(signal.from);
    if (!watched || !watch) return false;
    watched.delete(signal.from);
    watch.onExit(signal.outcome);
    return true;
  }

  /** Every watch of a process `gone` says has ended gets `outcome`. */
  ended(gone: (pid: Pid) => boolean, outcome: ExitOutcome, at: bigint): void {
    for (const [inbox, state] of this.open) {
      for (const target of [...state.watched.keys()])
        if (gone(target)) this.exitReached({ kind: 'exit', to: inbox, from: target, at, outcome });
    }
  }

  private watch(
    inbox: Pid,
    state: InboxState,
    target: Pid,
    onExit: (outcome: ExitOutcome) => void,
  ): Delivery {
    const where = this.host.whereIs(target);
    if (where === undefined) return notAlive(target);
    if (where !== 'remote') {
      const listener = (outcome: ExitOutcome) => {
        state.watched.delete(target);
        onExit(outcome);
      };
      where.exitListeners.add(listener);
      state.watched.set(target, { onExit, stop: () => where.exitListeners.delete(listener) });
      return undefined;
    }
    // Its EXIT comes back to the inbox's PID (see exitReached).
    state.watched.set(target, {
      onExit,
      stop: () => forget(this.host.signal({ kind: 'demonitor', to: target, from: inbox })),
    });
    return this.host.signal({ kind: 'monitor', to: target, from: inbox });
  }
}
