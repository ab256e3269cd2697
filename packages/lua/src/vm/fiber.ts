import type { LuactError } from '@luact/core';
import type { LuaState } from '../wasm/lua-api.js';

/**
 * ready: queued to run · running: inside lua_resume · blocked: waiting for a wake ·
 * done: returned, failed or killed; never resumed again.
 */
export type FiberState = 'ready' | 'running' | 'blocked' | 'done';

/** One Lua thread the scheduler resumes: a process's main function or a coroutine.spawn. */
export class Fiber {
  state: FiberState = 'ready';
  /** Values on the thread's stack for the next resume (the function's arguments at first). */
  pendingArgs: number;
  /** Fed queues this fiber waits on: a delivery to any of them wakes it. */
  awaiting: FedQueue[] | undefined;
  /**
   * Its process's code holds its thread (coroutine.running() in it): the thread is never run
   * again for another fiber, whose state that code could then look at.
   */
  threadHeld = false;

  constructor(
    readonly id: number,
    readonly thread: LuaState,
    /** Registry reference that keeps the thread alive. */
    readonly ref: number,
    readonly group: FiberGroup,
    /** A process's main fiber: the ID of its entry (see LuaVm.finish); else none. */
    readonly entry: string | undefined,
    args: number,
  ) {
    this.pendingArgs = args;
  }
}

/** A value JS hands to a fed channel: up to three fields, turned into one Lua value there. */
export type DeliveryField = string | Uint8Array | number | bigint | boolean | undefined;

export interface Delivery {
  readonly channel: number;
  readonly a: DeliveryField;
  readonly b: DeliveryField;
  readonly c: DeliveryField;
}

export type GroupOutcome =
  | { readonly ok: true; readonly value: Uint8Array }
  | { readonly ok: false; readonly error: Uint8Array; readonly killed: boolean };

/** Told when a group ends: its main function returned or failed, a fiber failed, or it was killed. */
export interface GroupOwner {
  /**
   * The group's fibers run one at a time, each until it blocks: preempting one lets other
   * processes run but never another fiber of this group, so the order in which its fibers act
   * does not depend on timing (workflows replay by it).
   */
  readonly serialFibers?: boolean;
  onGroupExit(group: FiberGroup, outcome: GroupOutcome): void;
  /** What log records of this group are tagged with (pid, entry). */
  labels?(): Readonly<Record<string, string>>;
  /**
   * Whether what its mail channels still hold when it ends is kept (moved to fed queues, for
   * `releaseChannel`): a process that restarts its code takes its mail along.
   */
  keepsMailAtEnd?(group: FiberGroup): boolean;
  /** The group blocked for the first time: its initialisation is done. */
  onGroupReady?(group: FiberGroup): void;
  /**
   * Every fiber of the group is blocked: nothing will run until something is delivered to it
   * (workflows deliver their next event only then). Called from inside the scheduler.
   */
  onGroupIdle?(group: FiberGroup): void;
}

/** What JS has queued for one fed channel, and the fibers waiting for more. */
export class FedQueue {
  private items: Delivery[] | undefined;
  private head = 0;
  /** Fibers to wake when a delivery is queued here (usually none or one). */
  waiters: Fiber[] | undefined;
  /**
   * Its channel gets nothing after what it holds (a call's result, a one-shot timer's tick):
   * the queue is forgotten once that is taken, or a process making calls would keep a queue
   * per call for as long as it lives.
   */
  last = false;

  constructor(readonly channel: number) {}

  get length(): number {
    return this.items === undefined ? 0 : this.items.length - this.head;
  }

  push(delivery: Delivery): void {
    this.items ??= [];
    this.items.push(delivery);
  }

  shift(): Delivery | undefined {
    const items = this.items;
    if (items === undefined || this.head >= items.length) return undefined;
    const delivery = items[this.head] as Delivery;
    this.head++;
    if (this.head === items.length) {
      this.items = undefined;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return delivery;
  }

  /** Puts `deliveries`, taken from the front just now, back in front, in their order. */
  putBack(deliveries: readonly Delivery[]): void {
    if (deliveries.length === 0) return;
    this.items = [...deliveries, ...(this.items?.slice(this.head) ?? [])];
    this.head = 0;
  }

  /** Everything still queued, oldest first (to re-route it when the channel goes away). */
  drain(): Delivery[] {
    const rest = this.items?.slice(this.head) ?? [];
    this.items = undefined;
    this.head = 0;
    return rest;
  }

  addWaiter(fiber: Fiber): void {
    // A literal of one: an empty array that grows by push reserves room for 17.
    if (this.waiters === undefined) this.waiters = [fiber];
    else if (!this.waiters.includes(fiber)) this.waiters.push(fiber);
  }

  removeWaiter(fiber: Fiber): void {
    const waiters = this.waiters;
    if (waiters === undefined) return;
    const index = waiters.indexOf(fiber);
    if (index >= 0) waiters.splice(index, 1);
    if (waiters.length === 0) this.waiters = undefined;
  }
}

/** The flags of a FiberGroup. */
const ENDED = 1;
const HAS_LUA_STATE = 2;
const READY = 4;

/**
 * The fibers of one process: they share its Lua environment and its fed channels.
 * The first fiber is the main one; when it ends, the group ends.
 */
export class FiberGroup {
  /** The live fibers: the main one first; a Set only once coroutine.spawn adds more. */
  private live: Fiber | Set<Fiber> | undefined;
  /**
   * Its first fed channel's queue (the others' are in `more`): most processes only ever open
   * their inbox, and a Map of one costs an idle process more than the rest of this object.
   */
  private firstFed: FedQueue | undefined;
  /**
   * Its first mail channel (an inbox or listened topic whose queue is kept in Lua: see
   * LuaVm.deliver); 0: none (channel ids start at 1). The others are in `more`: most processes
   * have one, and a Set of one costs an idle process ~150 bytes.
   */
  private firstMail = 0;
  /** What few groups need, made on first use: an idle process's group has none of it. */
  private more: GroupMore | undefined;
  private flags = 0;
  /** Where the VM's heap charges what this group's fibers allocate. */
  memorySlot = 0;
  /** Its fibers that are ready or running: 0 means the group is idle. */
  active = 0;

  constructor(
    readonly id: number,
    readonly owner: GroupOwner,
  ) {}

  private get extra(): GroupMore {
    this.more ??= new GroupMore();
    return this.more;
  }

  get ended(): boolean {
    return (this.flags & ENDED) !== 0;
  }

  set ended(ended: boolean) {
    this.flags = ended ? this.flags | ENDED : this.flags & ~ENDED;
  }

  /** Lua-side state exists for this group (rt.group_state) and is dropped when it ends. */
  get hasLuaState(): boolean {
    return (this.flags & HAS_LUA_STATE) !== 0;
  }

  set hasLuaState(has: boolean) {
    this.flags = has ? this.flags | HAS_LUA_STATE : this.flags & ~HAS_LUA_STATE;
  }

  /** One of its fibers has blocked (see GroupOwner.onGroupReady). */
  get ready(): boolean {
    return (this.flags & READY) !== 0;
  }

  set ready(ready: boolean) {
    this.flags = ready ? this.flags | READY : this.flags & ~READY;
  }

  /**
   * Why the group must end although one of its fibers is running (it overran its slice where
   * it could not be preempted): it ends with this error once that fiber is out of lua_resume.
   */
  get doom(): LuactError | undefined {
    return this.more?.doom;
  }

  set doom(error: LuactError | undefined) {
    if (error !== undefined || this.more !== undefined) this.extra.doom = error;
  }

  /** Of a serial group: its fiber that was preempted and must run before any other of it. */
  get preempted(): Fiber | undefined {
    return this.more?.preempted;
  }

  set preempted(fiber: Fiber | undefined) {
    if (fiber !== undefined || this.more !== undefined) this.extra.preempted = fiber;
  }

  addFiber(fiber: Fiber): void {
    if (this.live === undefined) this.live = fiber;
    else if (this.live instanceof Set) this.live.add(fiber);
    else this.live = new Set([this.live, fiber]);
  }

  removeFiber(fiber: Fiber): void {
    if (this.live === fiber) this.live = undefined;
    else if (this.live instanceof Set) this.live.delete(fiber);
  }

  get fibers(): readonly Fiber[] {
    if (this.live === undefined) return [];
    return this.live instanceof Set ? [...this.live] : [this.live];
  }

  addMailChannel(channel: number): void {
    if (this.firstMail === 0) this.firstMail = channel;
    else if (this.firstMail !== channel) {
      const more = this.extra;
      more.mail ??= new Set();
      more.mail.add(channel);
    }
  }

  isMailChannel(channel: number): boolean {
    return channel === this.firstMail || this.more?.mail?.has(channel) === true;
  }

  /** Forgets mail channel `channel`; whether it was one. */
  forgetMailChannel(channel: number): boolean {
    if (channel !== this.firstMail) return this.more?.mail?.delete(channel) === true;
    this.firstMail = 0;
    return true;
  }

  get hasMailChannels(): boolean {
    const more = this.more?.mail;
    return this.firstMail !== 0 || (more !== undefined && more.size > 0);
  }

  /** Its mail channels, in no particular order. */
  mailChannels(): number[] {
    const more = this.more?.mail;
    const channels = more === undefined ? [] : [...more];
    if (this.firstMail !== 0) channels.push(this.firstMail);
    return channels;
  }

  /** The queue of fed channel `channel`, created on first use. */
  queue(channel: number): FedQueue {
    const found = this.existingQueue(channel);
    if (found !== undefined) return found;
    const queue = new FedQueue(channel);
    if (this.firstFed === undefined) this.firstFed = queue;
    else {
      const more = this.extra;
      more.fed ??= new Map();
      more.fed.set(channel, queue);
    }
    return queue;
  }

  private existingQueue(channel: number): FedQueue | undefined {
    const first = this.firstFed;
    return first?.channel === channel ? first : this.more?.fed?.get(channel);
  }

  /**
   * The oldest delivery queued for `channel`, taken off its queue; a queue whose last delivery
   * this was is forgotten.
   */
  take(channel: number): Delivery | undefined {
    const queue = this.existingQueue(channel);
    const delivery = queue?.shift();
    if (queue?.last === true && queue.length === 0) this.releaseChannel(channel);
    return delivery;
  }

  /** How many fed channels have a queue here (made on first delivery or wait). */
  get fedQueueCount(): number {
    return (this.firstFed === undefined ? 0 : 1) + (this.more?.fed?.size ?? 0);
  }

  /** Queued deliveries of `channel` (0 when it has none or does not exist). */
  pendingIn(channel: number): number {
    return this.existingQueue(channel)?.length ?? 0;
  }

  /** Forgets a fed channel and returns what was still queued for it. */
  releaseChannel(channel: number): Delivery[] {
    const queue = this.existingQueue(channel);
    if (queue === undefined) return [];
    if (queue === this.firstFed) this.firstFed = undefined;
    else this.more?.fed?.delete(channel);
    return queue.drain();
  }

  /** Runs `cleanup` when the group ends (cancel its timers, release its names, …). */
  onEnd(cleanup: () => void): void {
    const more = this.extra;
    more.cleanups ??= [];
    more.cleanups.push(cleanup);
  }

  /** Called once by the VM when the group ends. */
  end(): void {
    // The fed queues stay: a process that restarts its code (upgrade) moves them to its next
    // group; otherwise they go with this object.
    this.ended = true;
    const cleanups = this.more?.cleanups;
    if (this.more !== undefined) this.more.cleanups = undefined;
    if (cleanups) for (const cleanup of cleanups) cleanup();
  }
}

/** The parts of a FiberGroup most groups never use. */
class GroupMore {
  /** Fed queues after the first, by channel. */
  fed: Map<number, FedQueue> | undefined;
  /** Mail channels after the first. */
  mail: Set<number> | undefined;
  cleanups: (() => void)[] | undefined;
  doom: LuactError | undefined;
  preempted: Fiber | undefined;
}
