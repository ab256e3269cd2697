import type { EntryId, LuactError } from '@luact/core';
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import type { Envelope, RemoteSpawnRequest, Signal, TransportReceiver } from './transport.js';

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
  send(thread: string, envelope: Envelope): void;
  signal(thread: string, signal: Signal): void;
  /** Spawns on `thread`; resolves with the PID, rejects with why it could not. */
  spawn(thread: string, request: RemoteSpawnRequest): Promise<Pid>;
  /**
   * Called once by the process system with what to do with traffic from the other threads,
   * and with the loss of one.
   */
  attach(receiver: ThreadReceiver): void;
  /**
   * Why process names cannot be used on this thread, when they cannot (a worker thread: the
   * node's names are kept on its main thread); undefined on a thread that keeps them.
   */
  namesRefused?(name: string): LuactError | undefined;
}

/** What a process system does with what its other threads send, and with the loss of one. */
export interface ThreadReceiver extends TransportReceiver {
  /** See ProcessSystem.placeDown. */
  placeDown(place: string, onIt: (pid: Pid) => boolean, error: LuactError): void;
}
