import { type ErrorData, LuactError } from '@luact/core';
import type { LogRecord } from '@luact/lua';
import {
  DEFAULT_PUBLISH_BUDGET_MS,
  type JetStreamJournal,
  type Membership,
  type PartitionOwner,
  partitionOf,
  type View,
  WorkflowChannel,
} from '@luact/nats';
import type { Envelope, ExitOutcome, Inbox, NodeIdentity, ProcessSystem } from '@luact/process';
import type { StartRequest, WorkflowHost } from '@luact/workflow';
import { ClusterWorkflowHost } from './cluster-workflow-host.js';
import { mailUntilStored } from './mail-until-stored.js';

/** How long an operation on a workflow waits for an owner that takes it (a move, a failover). */
export const DEFAULT_OWNER_WAIT_MS = 30_000;
/** Partitions taken over at once per host (each is one ordered consumer and its fences). */
const TAKEOVER_CONCURRENCY = 8;
/** After a failed takeover or watch registration (NATS unavailable), the next try. */
const RETRY_TAKEOVER_MS = 1_000;
/**
 * How long after a takeover the partition is read again: the previous owner's journal writes
 * still in flight (retried for up to the publish budget) have landed by then. A journal it
 * created after the takeover's read was neither fenced nor adopted; the second read does both.
 */
const LATE_WRITES_MS = DEFAULT_PUBLISH_BUDGET_MS + 5_000;
/** The topic of a workflow's end, mailed by its owner to a watching node's inbox. */
const EXIT_TOPIC = 'luact.workflow.exit';
/**
 * A workflow's end that JetStream did not store is mailed again after this long, for up to
 * EXIT_MAIL_FOR_MS (each send waits up to the publish budget itself).
 */
const EXIT_MAIL_RETRY_MS = 1_000;
const EXIT_MAIL_FOR_MS = 5 * 60_000;

export interface ClusterWorkflowsOptions {
  readonly identity: NodeIdentity;
  readonly membership: Pick<Membership, 'view' | 'fenced' | 'onView' | 'onFence'>;
  /** The node's cluster connection's workflow channel (`<prefix>.wf.<node>`). */
  readonly channel: WorkflowChannel;
  readonly system: ProcessSystem;
  readonly log?: (record: LogRecord) => void;
  /** How long operations wait for an owner before they fail UNAVAILABLE. */
  readonly ownerWaitMs?: number;
}

/** What one node asks of the owner of a workflow (see ClusterWorkflowHost). */
export type OwnerRequest =
  | { readonly op: 'start'; readonly request: StartRequest & { readonly workflow: string } }
  | { readonly op: 'send'; readonly envelope: Omit<Envelope, 'from'> & { readonly from?: string } }
  | {
      readonly op: 'cancel';
      readonly pid: string;
      readonly reason?: string;
      readonly from?: string;
      readonly origin: string;
    }
  | {
      readonly op: 'terminate';
      readonly pid: string;
      readonly reason: string;
      readonly from?: string;
    }
  | { readonly op: 'watch'; readonly pid: string; readonly inbox: string; readonly key: number }
  | { readonly op: 'history' };

type Addressed = OwnerRequest & {
  readonly host: string;
  readonly workflow: string;
  /** 1 for the first try; a repeat may find its own earlier attempt's effect. */
  readonly attempt: number;
};

/** A watch this node keeps for a workflow, registered with its owner (again after a move). */
interface Watch {
  readonly host: string;
  readonly workflow: string;
  readonly pid: string;
  readonly onExit: (outcome: ExitOutcome) => void;
  /**
   * The ownership (`node~incarnation@epoch`) it is registered with; undefined while
   * (re)registering. The epoch counts: an owner that let the partition go and took it back
   * (or took it again after a view it skipped) drives new runs that know nothing of it.
   */
  registeredWith: string | undefined;
  registering: boolean;
}

/** One workflow host's share of the cluster: the partitions this node drives. */
interface HostShare {
  readonly router: ClusterWorkflowHost;
  readonly journal: JetStreamJournal;
  /** Partitions taken over and resumed here, with the epoch they were taken at. */
  readonly driving: Map<number, number>;
  /** Partitions being taken over again (after a self-fence): requests wait. */
  readonly readopting: Set<number>;
}

/**
 * The workflows of a cluster node: which partitions of each workflow host it drives (those the
 * committed view gives it, taken over with a fence at the view's epoch), and the way
 * operations reach a workflow whose partition another node owns. One per node.
 */
export class ClusterWorkflows {
  private readonly shares = new Map<string, HostShare>();
  private readonly watches = new Map<number, Watch>();
  private nextWatch = 1;
  private nextKey = 1;
  private inbox: Inbox | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private reconciling: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Second reads of partitions taken over (see LATE_WRITES_MS). */
  private readonly sweeps = new Set<NodeJS.Timeout>();
  private stopped = false;
  private readonly ownerWaitMs: number;

  constructor(private readonly options: ClusterWorkflowsOptions) {
    this.ownerWaitMs = options.ownerWaitMs ?? DEFAULT_OWNER_WAIT_MS;
  }

  get identity(): NodeIdentity {
    return this.options.identity;
  }

  /** P, the partitions per workflow host, as the cluster's view fixed it. */
  get partitions(): number {
    return this.options.membership.view.partitions;
  }

  /**
   * The epoch at which this node writes partition `p` of `queue`: the view's, when the view
   * gives `p` to this node (name and incarnation) and the node is not fenced; else undefined.
   */
  epochOf(queue: string): (partition: number) => number | undefined {
    return (partition) => {
      const owner = this.options.membership.view.owners[queue]?.[partition];
      if (!owner || !this.isMe(owner) || this.options.membership.fenced) return undefined;
      return owner.epoch;
    };
  }

  /** The partition of a workflow of any host (its runs share it). */
  partitionOf(workflow: string): number {
    return partitionOf(workflow, this.partitions);
  }

  /** Adds a workflow host: its journal writes at `epochOf(host.id)`. Returns its router. */
  add(host: WorkflowHost, journal: JetStreamJournal): ClusterWorkflowHost {
    const router = new ClusterWorkflowHost(host, this);
    this.shares.set(host.id, { router, journal, driving: new Map(), readopting: new Set() });
    return router;
  }

  router(id: string): ClusterWorkflowHost | undefined {
    return this.shares.get(id)?.router;
  }

  /**
   * Serves requests from other nodes and takes over the partitions the current view gives this
   * node; from then on follows every committed view and this node's fence.
   */
  async start(): Promise<void> {
    const { membership, channel, identity, system } = this.options;
    this.inbox = system.openInbox((envelope) => this.exitArrived(envelope));
    channel.serve(identity.node, (request) => this.serve(request));
    this.unsubscribe.push(
      membership.onView(() => this.reconcileSoon(false)),
      membership.onFence((fenced) => {
        if (fenced) return;
        // Runs that tried to write while fenced were let go: resume them from the journal.
        for (const share of this.shares.values())
          for (const partition of share.driving.keys()) share.readopting.add(partition);
        this.reconcileSoon(true);
      }),
    );
    this.reconcileSoon(false);
    await this.reconciling;
  }

  /** Stops following the cluster (the hosts stop their runs themselves). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const stop of this.unsubscribe.splice(0)) stop();
    clearTimeout(this.retryTimer);
    for (const sweep of this.sweeps) clearTimeout(sweep);
    this.sweeps.clear();
    await this.options.channel.close();
    this.inbox?.close();
    await this.reconciling;
  }

  /** A fresh idempotency key: unique in the cluster (the incarnation is). */
  newKey(): string {
    return `${this.identity.node}~${this.identity.incarnation}:${this.nextKey++}`;
  }

  // ── Ownership ───────────────────────────────────────────────────────────────────────────

  private reconcileSoon(readopt: boolean): void {
    void this.inTurn(() => this.reconcile(readopt), 'workflow partitions not reconciled');
  }

  /**
   * Runs `step` after whatever changes of ownership are under way, one at a time; a failure is
   * logged as `failure` (with `fields`), and the next step still runs.
   */
  private inTurn(
    step: () => Promise<void>,
    failure: string,
    fields: Record<string, unknown> = {},
  ): Promise<void> {
    this.reconciling = this.reconciling
      .then(step)
      .catch((error: unknown) =>
        this.log('error', failure, { ...fields, error: LuactError.from(error).message }),
      );
    return this.reconciling;
  }

  /**
   * Brings the partitions driven here in line with the view: lost ones are let go (their runs
   * stop here, the new owner resumes them), gained ones taken over (fenced at the view's
   * epoch, read) and resumed. Then watches follow their workflows' owners.
   */
  private async reconcile(readopt: boolean): Promise<void> {
    if (this.stopped) return;
    const view = this.options.membership.view;
    let failed = false;
    for (const [id, share] of this.shares) {
      const owners = view.owners[id] ?? [];
      for (const [partition, epoch] of [...share.driving]) {
        const owner = owners[partition];
        if (owner && this.isMe(owner) && owner.epoch === epoch) continue;
        share.driving.delete(partition);
        share.readopting.delete(partition);
        const stopped = share.router.local.release(
          (workflow) => this.partitionOf(workflow) === partition,
        );
        this.log('info', 'workflow partition moved away', { host: id, partition, stopped });
      }
      if (this.options.membership.fenced) continue;
      const gained: [number, number][] = [];
      owners.forEach((owner, partition) => {
        if (!this.isMe(owner)) return;
        if (!share.driving.has(partition) || (readopt && share.readopting.has(partition)))
          gained.push([partition, owner.epoch]);
      });
      await inBatches(gained, TAKEOVER_CONCURRENCY, async ([partition, epoch]) => {
        try {
          const journals = await share.journal.takeOver(partition);
          const { resumed, unreadable } = await share.router.local.adopt(journals);
          share.driving.set(partition, epoch);
          share.readopting.delete(partition);
          this.sweepLater(id, partition, epoch);
          if (resumed + unreadable > 0)
            this.log(unreadable > 0 ? 'warn' : 'info', 'workflow partition taken over', {
              host: id,
              partition,
              epoch,
              resumed,
              unreadable,
            });
        } catch (error) {
          failed = true;
          this.log('warn', 'workflow partition not taken over yet', {
            host: id,
            partition,
            error: LuactError.from(error).message,
          });
        }
      });
    }
    if (failed && !this.stopped) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.reconcileSoon(readopt), RETRY_TAKEOVER_MS);
      this.retryTimer.unref?.();
    }
    this.followWatches(view);
  }

  private sweepLater(host: string, partition: number, epoch: number): void {
    const timer = setTimeout(() => {
      this.sweeps.delete(timer);
      void this.sweepNow(host, partition, epoch);
    }, LATE_WRITES_MS);
    timer.unref?.();
    this.sweeps.add(timer);
  }

  /**
   * Reads a partition this node drives at `epoch` again, and fences and adopts the open
   * journals no run here drives: those the previous owner wrote after the takeover's read.
   * Tried again later if NATS does not answer; nothing to do once the partition moved on.
   */
  private async sweep(host: string, partition: number, epoch: number): Promise<void> {
    const share = this.shares.get(host);
    if (this.stopped || !share || share.driving.get(partition) !== epoch) return;
    if (this.options.membership.fenced) return; // readopted when the fence lifts
    const { journal, router } = share;
    try {
      const late = (await journal.readPartition(partition)).filter(
        (found) => !('damaged' in found) && !found.closed && !router.local.drivesJournal(found.id),
      );
      if (late.length === 0) return;
      const adopted = await Promise.all(
        late.map(async ({ id }) => {
          await journal.fence(id);
          return { id, records: await journal.read(id), closed: false };
        }),
      );
      const { resumed, unreadable } = await router.local.adopt(adopted);
      this.log(unreadable > 0 ? 'warn' : 'info', 'workflow journals written late adopted', {
        host,
        partition,
        epoch,
        resumed,
        unreadable,
      });
    } catch (error) {
      this.log('warn', 'workflow partition not read again yet', {
        host,
        partition,
        error: LuactError.from(error).message,
      });
      this.sweepLater(host, partition, epoch);
    }
  }

  /** Sweeps in turn with the changes of ownership (see inTurn). */
  private sweepNow(host: string, partition: number, epoch: number): Promise<void> {
    return this.inTurn(
      () => this.sweep(host, partition, epoch),
      'workflow partition not read again',
      {
        host,
        partition,
      },
    );
  }

  /** Whether this node takes requests for `partition` of `host` now. */
  private serves(host: string, partition: number): boolean {
    const share = this.shares.get(host);
    const owner = this.options.membership.view.owners[host]?.[partition];
    return (
      share !== undefined &&
      owner !== undefined &&
      this.isMe(owner) &&
      share.driving.get(partition) === owner.epoch &&
      !share.readopting.has(partition) &&
      !this.options.membership.fenced
    );
  }

  private ownerOf(host: string, workflow: string): PartitionOwner | undefined {
    return this.options.membership.view.owners[host]?.[this.partitionOf(workflow)];
  }

  private isMe(owner: { readonly node: string; readonly incarnation: number }): boolean {
    return owner.node === this.identity.node && owner.incarnation === this.identity.incarnation;
  }

  // ── Reaching the owner ──────────────────────────────────────────────────────────────────

  /**
   * Carries out `request` for `workflow` of `host` on its owner: `local` here when this node
   * owns and drives its partition, else a request to the owner. While the partition has no
   * owner ready (a move, a failover, a fence) it tries again, up to the owner wait, then fails
   * UNAVAILABLE. Repeats carry the same idempotency keys, so nothing is taken twice.
   */
  async toOwner<T>(
    host: string,
    workflow: string,
    request: OwnerRequest,
    local: () => Promise<T>,
  ): Promise<T | unknown> {
    const deadline = Date.now() + this.ownerWaitMs;
    const partition = this.partitionOf(workflow);
    let delay = 25;
    let last: LuactError | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.stopped)
          throw new LuactError('UNAVAILABLE', 'the node is stopping', { retryable: false });
        const owner = this.ownerOf(host, workflow);
        if (owner && this.isMe(owner)) {
          if (!this.serves(host, partition)) throw notReady(this.identity.node, host, partition);
          return await this.asOwner(host, partition, () => repeatable(request, attempt, local));
        }
        if (!owner) throw notReady(undefined, host, partition);
        return await this.options.channel.request(owner.node, {
          ...request,
          host,
          workflow,
          attempt,
        } satisfies Addressed);
      } catch (error) {
        last = LuactError.from(error);
        if (!waitsForOwner(last) || Date.now() >= deadline) break;
      }
      const pause = Math.min(delay, Math.max(0, deadline - Date.now()));
      await new Promise((resolve) => setTimeout(resolve, pause));
      delay = Math.min(delay * 2, 500);
    }
    if (!waitsForOwner(last)) throw last;
    throw new LuactError(
      'UNAVAILABLE',
      `workflow ${workflow} of ${host}: no node took the request within ${this.ownerWaitMs} ms (partition ${partition} is moving or its owner is unreachable): ${last.message}`,
      { details: { host, workflow, partition }, cause: last },
    );
  }

  /** A request from another node for a workflow this node should own. */
  private async serve(body: unknown): Promise<unknown> {
    const request = addressed(body);
    const share = this.shares.get(request.host);
    if (!share)
      throw new LuactError(
        'NOT_FOUND',
        `no workflow host ${request.host} on node ${this.identity.node}`,
        {
          retryable: false,
        },
      );
    const partition = this.partitionOf(request.workflow);
    if (this.stopped || !this.serves(request.host, partition))
      throw notReady(this.identity.node, request.host, partition);
    const local = share.router.local;
    return this.asOwner(request.host, partition, () =>
      repeatable(request, request.attempt, async () => {
        switch (request.op) {
          case 'start':
            return local.start(request.request);
          case 'send':
            return local.send({ ...request.envelope, from: request.envelope.from } as Envelope);
          case 'cancel':
            return local.cancel(request.pid, request);
          case 'terminate':
            return local.terminateWorkflow(request.workflow, request.reason, request.from);
          case 'history':
            return local.history(request.workflow);
          case 'watch': {
            const { inbox, key, pid } = request;
            return local.watch(pid as never, (outcome) => this.mailExit(inbox, pid, key, outcome));
          }
        }
      }),
    );
  }

  /**
   * Runs `operation` for a workflow of `partition`, which this node drives, whichever node asked
   * for it. A workflow it does not know, or a journal that refuses its write (CONFLICT), may be
   * one the previous owner started or wrote while the partition moved, after the takeover read
   * the partition: the partition is read again (adopting it) and the operation tried once more
   * before its error stands.
   */
  private async asOwner<T>(
    host: string,
    partition: number,
    operation: () => Promise<T>,
  ): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const failure = LuactError.from(error);
      const epoch = this.shares.get(host)?.driving.get(partition);
      const unknown = failure.kind === 'NOT_FOUND' && failure.details?.known === false;
      if ((!unknown && failure.kind !== 'CONFLICT') || epoch === undefined) throw failure;
      await this.sweepNow(host, partition, epoch);
      return operation();
    }
  }

  // ── Watches ─────────────────────────────────────────────────────────────────────────────

  /**
   * Calls `onExit` once when the workflow ends. The watch is registered with the owner (which
   * mails the end to this node's inbox when it is another node) and registered again with each
   * new owner; NOT_FOUND for a workflow its owner does not know.
   */
  async watch(
    host: string,
    workflow: string,
    pid: string,
    onExit: (outcome: ExitOutcome) => void,
  ): Promise<void> {
    const key = this.nextWatch++;
    const watch: Watch = {
      host,
      workflow,
      pid,
      onExit,
      registeredWith: undefined,
      registering: false,
    };
    this.watches.set(key, watch);
    try {
      await this.register(key, watch);
    } catch (error) {
      this.watches.delete(key);
      throw error;
    }
  }

  /**
   * Registers `watch` with the owner its workflow has in the view, again if the view named
   * another owner meanwhile (a registration an earlier owner took is dropped with its run
   * there; one registered twice is told once).
   */
  private async register(key: number, watch: Watch): Promise<void> {
    watch.registering = true;
    try {
      let owner = this.ownerName(watch);
      do {
        watch.registeredWith = owner;
        await this.toOwner(
          watch.host,
          watch.workflow,
          { op: 'watch', pid: watch.pid, inbox: this.inbox?.pid ?? '', key },
          () =>
            (this.shares.get(watch.host) as HostShare).router.local.watch(
              watch.pid as never,
              (outcome) => this.exited(key, outcome),
            ),
        );
        owner = this.ownerName(watch);
      } while (owner !== watch.registeredWith && this.watches.has(key) && !this.stopped);
    } finally {
      watch.registering = false;
    }
  }

  private ownerName(watch: Watch): string | undefined {
    return ownership(this.ownerOf(watch.host, watch.workflow));
  }

  /** Registers again every watch whose workflow has a new owner in `view`. */
  private followWatches(view: View): void {
    for (const [key, watch] of this.watches) {
      const now = ownership(view.owners[watch.host]?.[this.partitionOf(watch.workflow)]);
      if (watch.registering || now === undefined || now === watch.registeredWith) continue;
      void this.register(key, watch).catch((error: unknown) => {
        const failure = LuactError.from(error);
        watch.registeredWith = undefined; // tried again on the next view, or shortly
        if (failure.kind === 'NOT_FOUND') {
          this.exited(key, { ok: false, error: failure });
          return;
        }
        this.log('warn', 'workflow watch not registered with the new owner yet', {
          workflow: watch.pid,
          error: failure.message,
        });
        if (!this.stopped) {
          const retry = setTimeout(
            () => this.followWatches(this.options.membership.view),
            RETRY_TAKEOVER_MS,
          );
          retry.unref?.();
        }
      });
    }
  }

  private exited(key: number, outcome: ExitOutcome): void {
    const watch = this.watches.get(key);
    if (!watch) return; // told already (by an earlier owner, say)
    this.watches.delete(key);
    watch.onExit(outcome);
  }

  /**
   * The owner tells a watching node that the workflow ended: by mail, to its inbox, again while
   * the mail is not stored (JetStream electing a stream's leader may take longer than one send
   * waits): told nothing, the caller waiting there would wait for ever. A notice that arrives
   * twice is taken once (`exited`).
   */
  private mailExit(inbox: string, pid: string, key: number, outcome: ExitOutcome): void {
    const data = outcome.ok ? outcome : { ok: false, error: outcome.error.toData() };
    const payload = WorkflowChannel.encode({ key, outcome: data });
    mailUntilStored(
      () =>
        this.options.system.send({
          to: inbox as never,
          from: pid as never,
          topic: EXIT_TOPIC,
          payload,
        }),
      {
        retryMs: EXIT_MAIL_RETRY_MS,
        forMs: EXIT_MAIL_FOR_MS,
        stopped: () => this.stopped,
        failed: (error, final) =>
          this.log(
            'warn',
            final ? 'workflow end not mailed' : 'workflow end not mailed yet, mailing it again',
            {
              workflow: pid,
              error: error.message,
            },
          ),
      },
    );
  }

  private exitArrived(envelope: Envelope): void {
    if (envelope.topic !== EXIT_TOPIC) return;
    const notice = WorkflowChannel.decode(envelope.payload) as {
      key: number;
      outcome: { ok: true; value: Uint8Array } | { ok: false; error: ErrorData };
    };
    const outcome: ExitOutcome = notice.outcome.ok
      ? { ok: true, value: notice.outcome.value }
      : { ok: false, error: LuactError.fromData(notice.outcome.error) };
    this.exited(notice.key, outcome);
  }

  private log(level: LogRecord['level'], message: string, fields: Record<string, unknown>): void {
    this.options.log?.({ level, message, fields, labels: { node: this.identity.node } });
  }
}

/**
 * Runs `operation` for try `attempt` of a request. A terminate repeated after a lost answer
 * finds the workflow ended (by its first try, or otherwise): that is what was asked.
 */
async function repeatable<T>(
  request: OwnerRequest,
  attempt: number,
  operation: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await operation();
  } catch (error) {
    const failure = LuactError.from(error);
    if (
      request.op === 'terminate' &&
      attempt > 1 &&
      failure.kind === 'NOT_FOUND' &&
      /has ended/.test(failure.message)
    )
      return undefined;
    throw failure;
  }
}

/** Errors that mean "no owner took it (yet)": try again until the owner wait runs out. */
function waitsForOwner(error: LuactError | undefined): error is LuactError {
  if (error === undefined) return false;
  // CONFLICT: the journal refused a write here (this node was fenced, or lost the partition).
  return error.kind === 'CONFLICT' || (error.kind === 'UNAVAILABLE' && error.retryable);
}

function notReady(node: string | undefined, host: string, partition: number): LuactError {
  return new LuactError(
    'UNAVAILABLE',
    node === undefined
      ? `partition ${partition} of ${host} has no owner`
      : `node ${node} does not drive partition ${partition} of ${host} (now)`,
    { details: { reason: 'not-owner', host, partition } },
  );
}

/** A request body from another node, checked where it matters for routing. */
function addressed(body: unknown): Addressed {
  const request = body as Partial<Addressed> | undefined;
  if (
    !request ||
    typeof request.host !== 'string' ||
    typeof request.workflow !== 'string' ||
    typeof request.attempt !== 'number' ||
    !['start', 'send', 'cancel', 'terminate', 'watch', 'history'].includes(String(request.op))
  ) {
    throw new LuactError('INVALID', 'a workflow request needs op, host, workflow and attempt', {
      retryable: false,
    });
  }
  return request as Addressed;
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  for (let at = 0; at < items.length; at += size)
    await Promise.all(items.slice(at, at + size).map(work));
}

/** Who owns a partition, since which view: a watch registered with another is registered again. */
function ownership(owner: PartitionOwner | undefined): string | undefined {
  return owner && `${owner.node}~${owner.incarnation}@${owner.epoch}`;
}
