import type { EntryId, LuactError } from '@luact/core';
import type { NameRegistry } from './names.js';
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import type { Attempt } from './retried-calls.js';
import type {
  Delivery,
  Envelope,
  RemoteSpawnRequest,
  Signal,
  TransportReceiver,
} from './transport.js';

/**
 * The other threads of this node, when a process host runs on worker threads (`workers` > 1):
 * each thread has a process system of its own, and this says which thread a PID or a spawn
 * belongs to and carries mail, signals and spawns there, in order per pair of threads. A node
 * whose hosts all run on the main thread has none, and its router never asks.
 */
export interface ThreadRouter {
  /**
   * The thread that runs `pid` when it is an address of this node that another of its
   * threads owns (found from the PID alone); undefined when it is this thread's or nobody's.
   */
  threadOf(pid: Pid): string | undefined;
  /**
   * The thread a spawn onto process host `hostId` runs on, `spawner` being the spawning
   * process (if any); undefined: this thread.
   */
  threadForSpawn(hostId: EntryId, spawner: Process | undefined): string | undefined;
  /**
   * Sends mail to a process of `thread`: undefined once taken (it surely fits the receiver's
   * mailbox, or nothing limits it), or a promise for the receiver's own verdict when it may not.
   */
  send(thread: string, envelope: Envelope): Delivery;
  /** Sends mail to a process of `thread` and settles with the receiver's own verdict. */
  sendAsking(thread: string, envelope: Envelope): Promise<void>;
  /**
   * Sends a signal to a process of `thread`: undefined once taken, or (a cancel that may not
   * fit the receiver's mailbox: it counts like a message) a promise for the receiver's verdict.
   */
  signal(thread: string, signal: Signal): Delivery;
  /**
   * Registers cluster name `name` for `pid`, a process of `thread`, on that thread (which keeps
   * the names its processes hold, and releases them at their end): settles as it did there.
   */
  registerInCluster(thread: string, name: string, pid: Pid): Promise<void>;
  /** Spawns on `thread`; resolves with the PID, rejects with why it could not. */
  spawn(thread: string, request: RemoteSpawnRequest): Promise<Pid>;
  /**
   * Runs function `entry` on `thread` (main: its function host) for process `caller`, as one
   * attempt of a retried call made here.
   */
  invoke?(
    thread: string,
    request: {
      readonly entry: EntryId;
      readonly args: Uint8Array;
      readonly context: ReadonlyMap<string, Uint8Array>;
      readonly caller: Pid;
    },
  ): Attempt;
  /** Called once by the process system with what to do with traffic from the other threads. */
  attach(receiver: ThreadReceiver): void;
  /** Process `pid` of this thread ended (what it awaited from other threads it awaits no more). */
  processEnded?(pid: Pid): void;
  /** The node's process names, which every thread shares. */
  readonly names: ThreadNames;
}

/** What a thread's process system does with traffic from the node's other threads, and with the loss of one. */
export interface ThreadReceiver extends TransportReceiver {
  /** What the mailbox of `pid`, a live process here, holds not yet received. */
  held(pid: Pid): { readonly length: number; readonly bytes: number } | undefined;
  /** See ProcessSystem.placeDown. */
  placeDown(place: string, onIt: (pid: Pid) => boolean, error: LuactError): void;
  /** A cancel another thread left to this one: taken as a cancel from here is, or why not. */
  cancel(signal: Extract<Signal, { readonly kind: 'cancel' }>): LuactError | undefined;
  /** Another thread registers cluster name `name` for `pid`, a process of this one. */
  registerInCluster(name: string, pid: Pid): Delivery;
}

/**
 * The process names of a node whose processes run on several threads: one thread decides
 * (one holder per name, for the processes of every thread), and every thread keeps a copy that
 * its lookups and sends by name read without asking. A change settles once every thread's copy
 * has it, so whatever its maker does next finds it on every thread.
 */
export interface ThreadNames {
  /** Called once by this thread's process names with what the names need of them. */
  attach(here: NamesHere): void;
  /** Gives `name` to `pid`, a live process of any thread of the node. */
  register(name: string, pid: Pid): Delivery;
  /** Gives `name` to `pid`, the PID a spawn of this thread is about to give its child. */
  registerForSpawn(name: string, pid: Pid): Promise<void>;
  /** Releases `name`, whoever holds it: NOT_FOUND when nobody does. */
  unregister(name: string): Delivery;
  /** `pid`, a process of this thread, ended (or never started): its names go. */
  released(pid: Pid, names: Iterable<string>): void;
}

/** What shared names need of one thread's process names. */
export interface NamesHere {
  /** This thread's copy of the node's names. */
  readonly copy: NameRegistry;
  /** Lets `pid`, a live process of this thread, hold `name`: why it cannot, if it cannot. */
  take(name: string, pid: Pid): LuactError | undefined;
  /** Whether `pid`, a process of this thread, is alive and holds `name`. */
  holds(name: string, pid: Pid): boolean;
  /** `pid`, a process of this thread, no longer holds `name` (another released it). */
  lost(name: string, pid: Pid): void;
}
