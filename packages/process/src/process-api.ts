import type { LuactError } from '@luact/core';
import type { LuaVm } from '@luact/lua';
import type { LuaPlace } from './call-site.js';
import type { Mailbox } from './mailbox.js';
import type { NameScope } from './names.js';

/**
 * What an operation answers Lua: its value, the error that refused it (returned or thrown), or
 * a promise for work that completes later (Lua then waits, as for a workflow's journal).
 */
export type Answer<T extends string | true = true> = T | LuactError | Promise<T>;

/** What an answer that came later settled to. */
export type Settled =
  | { readonly ok: true; readonly value: string | true | Uint8Array }
  | { readonly ok: false; readonly error: LuactError };

/** Where the Lua code that asked stands; walks the Lua stack, so valid only during the call. */
export type CallSite = () => LuaPlace | undefined;

/** How a spawner follows its child (`spawn_monitored`, `spawn_linked`, …). */
export interface Follow {
  readonly monitor: boolean;
  readonly link: boolean;
}

export interface StartupMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
}

/** A spawn as Lua asked it, the spawner's values decoded (references not yet resolved). */
export interface LuaSpawn {
  readonly entry: string;
  readonly host: string;
  /** The arguments of the entry's method (msgpack values). */
  readonly args: Uint8Array;
  readonly follow: Follow;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly name?: string;
  /** The scope of `name` (`with_name(name, scope)`; default: the node's). */
  readonly nameScope?: NameScope;
  readonly messages: readonly StartupMessage[];
  /** `exec`: the fed channel that gets the child's outcome. */
  readonly resultChannel?: number;
}

/** A `funcs.call`/`funcs.async` as Lua asked it. */
export interface LuaCall {
  readonly entry: string;
  readonly args: Uint8Array;
  readonly context?: Readonly<Record<string, unknown>>;
  readonly options?: Readonly<Record<string, unknown>>;
  /** The fed channel that gets the call's outcome. */
  readonly channel: number;
  /** The caller waits for the outcome at once (`funcs.call`), not through a future. */
  readonly waits: boolean;
}

/**
 * What Lua's `process`, `funcs` and `ctx` modules ask of the actor running them. One binding
 * (`processBinding`) reads Lua's arguments and answers it; each kind of actor implements this
 * once: live processes act at once, workflow runs turn each call into a journaled command.
 * Destinations are passed as Lua wrote them (a PID or a registered name).
 */
/**
 * A direct send is made while the receiver holds fewer than `messages` and its size fits both
 * `bytes` (with what the receiver holds) and `messageSize`; any other goes through the host.
 */
export interface DirectMailLimits {
  readonly messages: number;
  readonly bytes: number;
  readonly messageSize: number;
}

/** A text as a prefix, a number and a suffix (a PID: see ProcessSystem.lastPidParts). */
export interface NumberedText {
  readonly prefix: string;
  readonly number: number;
  readonly suffix: string;
}

export interface ProcessApi<Actor> {
  /** The actor running on `vm` now; throws when the running code is not one. */
  actorOf(vm: LuaVm): Actor;
  pid(actor: Actor): string;
  entry(actor: Actor): string;
  mailbox(actor: Actor): Mailbox;
  /**
   * What a process of the same host may send the actor's mail channels directly (see
   * process.lua, "Mail between processes of this host"), or undefined when all its mail goes
   * through TypeScript.
   */
  directMail(actor: Actor): DirectMailLimits | undefined;
  trapLinks(actor: Actor): boolean;
  setTrapLinks(actor: Actor, trap: boolean): void;

  send(actor: Actor, to: string, topic: string, payload: Uint8Array, site: CallSite): Answer;
  /** Answers the child's PID. */
  spawn(actor: Actor, spawn: LuaSpawn, site: CallSite): Answer<string>;
  /** A PID `spawn` answered, as parts cheaper to write into Lua than its text (if it can). */
  pidParts?(pid: string): NumberedText | undefined;
  cancel(actor: Actor, to: string, reason: string | undefined, site: CallSite): Answer;
  terminate(actor: Actor, to: string, site: CallSite): Answer;
  /** Whether the actor has ended (it terminated itself): Lua stops at once. */
  ended(actor: Actor): boolean;
  monitor(actor: Actor, to: string, site: CallSite): Answer;
  unmonitor(actor: Actor, to: string): Answer;
  link(actor: Actor, to: string): Answer;
  unlink(actor: Actor, to: string): Answer;

  /**
   * `scope` as Lua gave it (undefined: the node's default, local unless the cluster is used as one
   * node); a cluster registration may answer later.
   */
  register(
    actor: Actor,
    name: string,
    pid: string | undefined,
    scope: NameScope | undefined,
  ): Answer;
  /** Answers the PID registered under `name` (a local name first, then a cluster name). */
  lookup(actor: Actor, name: string): Answer<string>;
  /** Without a scope: the local name if there is one, else the cluster name. */
  unregister(actor: Actor, name: string, scope: NameScope | undefined): Answer;
  /** `process.upgrade`: the actor goes on with `entry` (undefined: its own) once Lua unwinds. */
  upgrade(actor: Actor, entry: string | undefined, args: Uint8Array): Answer;

  /** Answers the call's handle (for `cancelCall`). */
  call(actor: Actor, call: LuaCall, site: CallSite): Answer<string>;
  /** True when the call was still running. */
  cancelCall(actor: Actor, handle: string, site: CallSite): boolean;

  context(actor: Actor, key: string): Uint8Array | undefined;
  contextValues(actor: Actor): Record<string, unknown>;

  /**
   * Hands Lua a token to wait on for `work` (an answer that is a promise). Actors whose answers
   * are never promises may throw.
   */
  defer(actor: Actor, work: Promise<string | true>): number;
  /**
   * The answer of `token` once it came (the token is then spent), or undefined: the running
   * fiber is woken when it comes and asks again.
   */
  settle(actor: Actor, token: number): Settled | undefined;
}
