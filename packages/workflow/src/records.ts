import type { ErrorData, RetryPolicy } from '@luact/core';

/** msgpack-encoded Lua values (arguments, payloads, results). */
export type Bytes = Uint8Array;

/** Where in the workflow's Lua code a command was issued. */
export interface CallSite {
  readonly file: string;
  readonly line: number;
}

/** How an activity, a child workflow or a monitored process ended. */
export type Outcome =
  | { readonly ok: true; readonly value: Bytes }
  | { readonly ok: false; readonly error: ErrorData };

export interface StartupMessage {
  readonly topic: string;
  readonly from?: string;
  readonly payload: Bytes;
}

/**
 * The first record of a run: everything its code depends on besides later events. `at` of
 * every record is workflow time in Unix milliseconds.
 */
export interface StartedRecord {
  readonly t: 'started';
  readonly at: number;
  readonly workflow: string;
  readonly run: number;
  readonly entry: string;
  readonly host: string;
  readonly args: Bytes;
  /** Hash of the entry's code and its imports when the run started. */
  readonly code: string;
  readonly context: Readonly<Record<string, Bytes>>;
  /** The spawner's PID, and for a child workflow the parent's command that started it. */
  readonly parent?: string;
  readonly parentSeq?: number;
  /** Seeds the run's random numbers (uuid, math.random). */
  readonly seed: number;
  /** Messages it receives before anything sent after its spawn returned. */
  readonly messages: readonly StartupMessage[];
  /** How the parent follows a child: 1 monitor, 2 link, 4 waits for its result (exec). */
  readonly follow?: number;
  /**
   * The start request's idempotency key (a start forwarded to the owner of the workflow's
   * partition): the same request repeated after a lost answer finds this run instead of
   * failing or starting another.
   */
  readonly key?: string;
}

/** Things that happen to a workflow, delivered to its code one at a time in journal order. */
export type EventRecord =
  | StartedRecord
  | { readonly t: 'activity'; readonly at: number; readonly seq: number; readonly outcome: Outcome }
  | { readonly t: 'timer'; readonly at: number; readonly seq: number }
  | {
      readonly t: 'signal';
      readonly at: number;
      readonly topic: string;
      readonly from?: string;
      readonly payload: Bytes;
      /** For a message from another workflow: its run and command, so a resend is dropped. */
      readonly origin?: string;
    }
  | { readonly t: 'child'; readonly at: number; readonly seq: number; readonly outcome: Outcome }
  | { readonly t: 'exit'; readonly at: number; readonly seq: number; readonly outcome: Outcome }
  | {
      readonly t: 'cancel';
      readonly at: number;
      readonly reason?: string;
      readonly from?: string;
      /** The request's idempotency key (a cancel forwarded between nodes): taken once. */
      readonly origin?: string;
    };

/** Options of an activity (a function called from a workflow). */
export interface ActivityOptions {
  /** Milliseconds one attempt may take. */
  readonly timeout?: number;
  /** Milliseconds all attempts together may take, from the first one's start. */
  readonly scheduleToClose?: number;
  readonly retry: RetryPolicy;
}

/** What a workflow asks of the world. Each is journaled before it is carried out. */
export type Command = (
  | {
      readonly k: 'activity';
      readonly entry: string;
      readonly args: Bytes;
      readonly context: Readonly<Record<string, Bytes>>;
      readonly options: ActivityOptions;
    }
  | { readonly k: 'cancel_activity'; readonly target: number }
  | {
      readonly k: 'timer';
      /** When it fires first (workflow time, Unix ms), and then every `every` ms if set. */
      readonly due: number;
      readonly every?: number;
    }
  | { readonly k: 'cancel_timer'; readonly target: number }
  | { readonly k: 'send'; readonly to: string; readonly topic: string; readonly payload: Bytes }
  | {
      readonly k: 'child';
      readonly workflow: string;
      readonly entry: string;
      readonly host: string;
      readonly args: Bytes;
      readonly context: Readonly<Record<string, Bytes>>;
      readonly messages: readonly StartupMessage[];
      /** 1 monitor, 2 link, 4 exec. */
      readonly follow: number;
      readonly conflict: ConflictPolicy;
    }
  | { readonly k: 'cancel'; readonly to: string; readonly reason?: string }
  | { readonly k: 'terminate'; readonly to: string }
  | { readonly k: 'monitor'; readonly to: string }
  | { readonly k: 'version'; readonly change: string; readonly version: number }
  /** A value computed once and read back on replay (secure random bytes); `what` names it. */
  | { readonly k: 'side_effect'; readonly what: string; readonly value: Bytes }
) & { readonly seq: number; readonly site?: CallSite };

export type ConflictPolicy = 'use_existing' | 'fail' | 'terminate_existing';

/** The commands a workflow issued while it handled event number `event` (0: its start). */
export interface TaskRecord {
  readonly t: 'task';
  readonly at: number;
  readonly event: number;
  readonly commands: readonly Command[];
  /**
   * Every command numbered up to this had been carried out when the record was written, so
   * after a crash only later messages, starts and signals may need carrying out again.
   */
  readonly executed?: number;
}

/** The last record of a run. */
export type TerminalRecord =
  | { readonly t: 'completed'; readonly at: number; readonly value: Bytes }
  | { readonly t: 'failed'; readonly at: number; readonly error: ErrorData }
  | {
      readonly t: 'terminated';
      readonly at: number;
      readonly reason: string;
      readonly from?: string;
    }
  | {
      readonly t: 'continued';
      readonly at: number;
      readonly entry: string;
      readonly args: Bytes;
    };

export type WorkflowRecord = EventRecord | TaskRecord | TerminalRecord;

export function isEvent(record: WorkflowRecord): record is EventRecord {
  return (
    record.t === 'started' ||
    record.t === 'activity' ||
    record.t === 'timer' ||
    record.t === 'signal' ||
    record.t === 'child' ||
    record.t === 'exit' ||
    record.t === 'cancel'
  );
}

export function isTerminal(record: WorkflowRecord): record is TerminalRecord {
  return (
    record.t === 'completed' ||
    record.t === 'failed' ||
    record.t === 'terminated' ||
    record.t === 'continued'
  );
}
