import type { EntryId } from '@luact/core';
import type { Pid } from './pid.js';
import type { Envelope, ExitOutcome, Signal } from './transport.js';

/** What a process asks of an external host when it spawns there. */
export interface ExternalSpawnRequest {
  /** The entry to run, resolved against the spawner's namespace. */
  readonly entry: EntryId;
  /** The arguments of its method (msgpack values). */
  readonly args: Uint8Array;
  readonly parent: Pid | undefined;
  readonly context: ReadonlyMap<string, Uint8Array>;
  /** A stable name (`with_name`): spawning it again finds the one already running. */
  readonly name?: string;
  readonly options?: Readonly<Record<string, unknown>>;
  /** Messages it receives before anything sent after the spawn returns. */
  readonly messages?: readonly { readonly topic: string; readonly payload: Uint8Array }[];
}

/**
 * A host whose processes do not run in this system's Lua VMs the way process hosts' do: a
 * workflow host, whose every operation is journaled before it counts, so each one is
 * asynchronous. Its PIDs are `{host|id}` with its own host ID; the process system routes
 * spawns, messages and signals for them here, and Lua code waits for the answer.
 */
export interface ExternalHost {
  /** Starts `entry` here; resolves with its PID once the start is durable. */
  spawn(request: ExternalSpawnRequest): Promise<Pid>;
  /** Accepts a message durably; rejects NOT_FOUND for a PID that is unknown or has ended. */
  send(envelope: Envelope): Promise<void>;
  /** Delivers a CANCEL event, or ends the process at once. Rejects NOT_FOUND like `send`. */
  signal(signal: Extract<Signal, { kind: 'cancel' | 'terminate' }>): Promise<void>;
  /**
   * Calls `onExit` once, when `pid` ends (right away when it already has). Rejects NOT_FOUND
   * for a PID this host never ran.
   */
  watch(pid: Pid, onExit: (outcome: ExitOutcome) => void): Promise<void>;
}
