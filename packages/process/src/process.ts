import type { EntryId } from '@luact/core';
import type {
  Delivery,
  DeliveryField,
  FiberGroup,
  GroupOutcome,
  GroupOwner,
  LuaVm,
  MailHeld,
} from '@luact/lua';
import { BoundedSet } from './bounded-set.js';
import type { ProcessHost } from './host.js';
import { type FedSink, Mailbox } from './mailbox.js';
import type { Pid } from './pid.js';
import type { ExitOutcome } from './transport.js';

/** Where the end of a process is reported: a fed channel of another process (exec, funcs). */
export interface OutcomeWaiter {
  readonly process: Process;
  readonly channel: number;
}

/** How many origins of workflow messages a process remembers. */
const REMEMBERED_ORIGINS = 4_096;

/** A pending `process.upgrade`: the code to restart with. */
interface Upgrade {
  readonly entry: EntryId;
  readonly args: Uint8Array;
}

/**
 * A running Lua process: its PID, mailbox, links, monitors, names and context, around the
 * fiber group that runs its code. Exits are reported to the system, which does the rest.
 */
export class Process implements GroupOwner, FedSink {
  group: FiberGroup | undefined;
  /** Made on first use: a process that never gets mail (most short ones) never needs one. */
  private box: Mailbox | undefined;
  /** Links, monitors, names and waiters: allocated when the first is added (most processes have none). */
  private relationSets: Relations | undefined;
  /** What few processes have (a context, a pending upgrade, …): made on first use. */
  private more: ProcessMore | undefined;
  trapLinks = false;
  /** Its code blocked for the first time (initialisation done); see ProcessSystem.onReady. */
  ready = false;
  exited = false;

  constructor(
    readonly pid: Pid,
    /** The number in the PID, unique within the node. */
    readonly localId: number,
    readonly host: ProcessHost,
    public entry: EntryId,
    context: ReadonlyMap<string, Uint8Array>,
    private readonly onExit: (process: Process, outcome: GroupOutcome) => void,
  ) {
    if (context.size > 0) this.extra.context = context;
  }

  private get extra(): ProcessMore {
    this.more ??= new ProcessMore();
    return this.more;
  }

  /** The context it was spawned with (ctx.get), empty for most. */
  get context(): ReadonlyMap<string, Uint8Array> {
    return this.more?.context ?? NO_CONTEXT;
  }

  /** A pending `process.upgrade`: the code it restarts with when its current code ends. */
  get upgrade(): Upgrade | undefined {
    return this.more?.upgrade;
  }

  set upgrade(upgrade: Upgrade | undefined) {
    if (upgrade !== undefined || this.more !== undefined) this.extra.upgrade = upgrade;
  }

  /**
   * A function call's process: the process whose call started its chain of calls (a call it
   * makes counts against that process's room for calls, see callRoom).
   */
  get callRoot(): Process | undefined {
    return this.more?.callRoot;
  }

  set callRoot(root: Process | undefined) {
    if (root !== undefined || this.more !== undefined) this.extra.callRoot = root;
  }

  /** Its function calls that run, and the calls those made, however deep (see callRoot). */
  get nestedCalls(): number {
    return this.more?.nestedCalls ?? 0;
  }

  set nestedCalls(count: number) {
    this.extra.nestedCalls = count;
  }

  get mailbox(): Mailbox {
    this.box ??= new Mailbox(this);
    return this.box;
  }

  get vm(): LuaVm {
    return this.host.vm;
  }

  /** This process's relations, created on first use. */
  get relations(): Relations {
    this.relationSets ??= new Relations();
    return this.relationSets;
  }

  /** The relations if any were ever added (reading them then allocates nothing). */
  get existingRelations(): Relations | undefined {
    return this.relationSets;
  }

  get links(): Set<Pid> {
    return this.relations.links;
  }

  get monitors(): Set<Pid> {
    return this.relations.monitors;
  }

  get monitoring(): Set<Pid> {
    return this.relations.monitoring;
  }

  get names(): Set<string> {
    return this.relations.names;
  }

  get outcomeWaiters(): OutcomeWaiter[] {
    return this.relations.outcomeWaiters;
  }

  get exitListeners(): Set<(outcome: ExitOutcome) => void> {
    return this.relations.exitListeners;
  }

  /** Binds the process to the fiber group that now runs its code (at spawn, and on upgrade). */
  attach(group: FiberGroup): void {
    if (this.group !== undefined) this.box?.rebind();
    this.group = group;
  }

  // The mailbox's sink: the fed channels of the current group. Before a group exists nothing
  // can have opened a channel, so everything is retained by the mailbox itself.
  deliver(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void {
    if (this.group) this.vm.deliver(this.group, channel, a, b, c);
  }

  deliverLast(channel: number, a: DeliveryField, b: DeliveryField, c: DeliveryField): void {
    if (this.group) this.vm.deliverLast(this.group, channel, a, b, c);
  }

  pendingIn(channel: number): number {
    return this.group?.pendingIn(channel) ?? 0;
  }

  release(channel: number): Delivery[] {
    return this.group ? this.vm.releaseChannel(this.group, channel) : [];
  }

  heldMail(): MailHeld | undefined {
    return this.group && this.vm.heldMail(this.group);
  }

  keepsMailAtEnd(group: FiberGroup): boolean {
    return group === this.group && this.upgrade !== undefined;
  }

  onGroupExit(group: FiberGroup, outcome: GroupOutcome): void {
    if (group !== this.group) return;
    this.onExit(this, outcome);
  }

  onGroupReady(group: FiberGroup): void {
    if (group !== this.group || this.ready) return;
    this.ready = true;
    const listeners = this.more?.readyListeners;
    if (this.more !== undefined) this.more.readyListeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }

  /** Calls `listener` once the process is ready (at once if it is). */
  whenReady(listener: () => void): void {
    if (this.ready) {
      listener();
      return;
    }
    const more = this.extra;
    more.readyListeners ??= [];
    more.readyListeners.push(listener);
  }

  /**
   * Whether it took a message with this `origin` (a workflow's send command) already. A
   * workflow that resumes on another node, or after its partition moved, carries out again the
   * sends its journal does not yet mark done, with the same origins: the process takes each
   * once. The newest origins are remembered, which covers the few a resumed run repeats.
   */
  tookAlready(origin: string): boolean {
    return this.more?.takenOrigins?.has(origin) ?? false;
  }

  took(origin: string): void {
    const more = this.extra;
    more.takenOrigins ??= new BoundedSet(REMEMBERED_ORIGINS);
    more.takenOrigins.add(origin);
  }

  labels(): Record<string, string> {
    return { pid: this.pid, entry: this.entry };
  }
}

const NO_CONTEXT: ReadonlyMap<string, Uint8Array> = new Map();

/** The parts of a Process most processes never use. */
class ProcessMore {
  context: ReadonlyMap<string, Uint8Array> | undefined;
  upgrade: Upgrade | undefined;
  readyListeners: (() => void)[] | undefined;
  /** Origins of the workflow messages it took (see `tookAlready`); created on the first. */
  takenOrigins: BoundedSet<string> | undefined;
  /** See Process.callRoot. */
  callRoot: Process | undefined;
  /** See Process.nestedCalls. */
  nestedCalls = 0;
}

/** Who a process is connected to, and who waits for its end. */
export class Relations {
  /** Processes linked to this one (both directions are recorded). */
  readonly links = new Set<Pid>();
  /** Processes that monitor this one. */
  readonly monitors = new Set<Pid>();
  /** Processes this one monitors. */
  readonly monitoring = new Set<Pid>();
  readonly names = new Set<string>();
  readonly outcomeWaiters: OutcomeWaiter[] = [];
  readonly exitListeners = new Set<(outcome: ExitOutcome) => void>();
}
