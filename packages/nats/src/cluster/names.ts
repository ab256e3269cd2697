import { LuactError } from '@luact/core';
import type { ClusterNameEvents, ClusterNames, NodeIdentity, Pid } from '@luact/process';
import {
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { publishDurably } from '../durable-publish.js';
import { isWrongLastSequence, natsFailure } from '../nats-errors.js';
import type { MailLogRecord } from './mail-log.js';
import { type Follower, follow } from './membership-follow.js';
import {
  decodeEntry,
  ensureNameBucket,
  entryFrom,
  holderRecord,
  lastEntry,
  markerHeaders,
  type NameBucket,
  nameBucket,
} from './names-stream.js';
import { type NameChange, type NameEntry, type NameHolder, NameTable } from './names-table.js';

export interface ClusterNamesOptions {
  readonly connection: NatsConnection;
  /** This node and incarnation: the holders of the names its processes register. */
  readonly identity: NodeIdentity;
  /** The bucket is `<prefix>_names` (stream `KV_<prefix>_names`). Default `luact`. */
  readonly prefix?: string;
  /** Replicas of the bucket's stream: 3 on a cluster. Default 1. */
  readonly replicas?: number;
  /** How long one registration or release may take before it fails UNAVAILABLE. Default 15 s. */
  readonly decideTimeoutMs?: number;
  /** How long `open` waits to have read the names already held. Default 30 s. */
  readonly loadTimeoutMs?: number;
  readonly log?: (record: MailLogRecord) => void;
}

const DEFAULT_DECIDE_TIMEOUT_MS = 15_000;
const DEFAULT_LOAD_TIMEOUT_MS = 30_000;
/** Pause before a failed background release is tried again. */
const RELEASE_RETRY_MS = 5_000;

/**
 * Cluster-wide process names over a JetStream KV bucket, one key per name. Every node follows
 * the bucket and answers lookups from what it read (no request per lookup: replicas may be
 * stale, and a lookup must be cheap); registrations and releases are decided by the stream:
 *
 * - a never-used key is registered by a write expecting no entry, which JetStream checks when
 *   it applies the write (on R3 too): one winner;
 * - a key whose last entry is a delete marker is written expecting that marker, which
 *   nats-server 2.9.10 checks only before replicating on R3, so several racers may be stored:
 *   the first PUT after the marker wins (NameTable), and each racer reads from the stream
 *   leader which one that is before it answers;
 * - a release writes a delete marker expecting the key's last entry, with a message ID naming
 *   the era it ends, so the owner's release and every node releasing the names of a node
 *   declared down store one marker between them.
 */
export class ClusterNameRegistry implements ClusterNames {
  private readonly table = new NameTable();
  /** Names held by processes of this node, by process. */
  private readonly own = new Map<Pid, Set<string>>();
  /** Incarnations declared down: a late PUT of theirs is released as soon as it is read. */
  private readonly down = new Set<string>();
  private readonly releasing = new Set<Promise<void>>();
  /** Releases under way by name: a registration of the name waits for its release first. */
  private readonly releasingNames = new Map<string, Promise<void>>();
  private readonly retries = new Set<NodeJS.Timeout>();
  private events: ClusterNameEvents | undefined;
  /** Told of every change of a name's holder (a node's worker threads keep copies). */
  private readonly followers = new Set<(name: string, pid: Pid | undefined) => void>();
  private follower: Follower | undefined;
  private registrations = 0;
  private closed = false;

  private constructor(
    private readonly connection: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly names: NameBucket,
    readonly identity: NodeIdentity,
    private readonly decideTimeoutMs: number,
    private readonly log: (record: MailLogRecord) => void,
  ) {}

  /** Creates the bucket if needed and reads every name held; resolves once they are read. */
  static async open(options: ClusterNamesOptions): Promise<ClusterNameRegistry> {
    const { connection, identity, prefix = 'luact', replicas = 1 } = options;
    const names = nameBucket(prefix);
    let jsm: JetStreamManager;
    let messages: number;
    try {
      jsm = await jetstreamManager(connection);
      await ensureNameBucket(jsm, names, replicas);
      messages = (await jsm.streams.info(names.stream)).state.messages;
    } catch (error) {
      throw natsFailure(connection, `open the cluster names bucket ${names.bucket}`, error);
    }
    const registry = new ClusterNameRegistry(
      connection,
      jetstream(connection),
      jsm,
      names,
      identity,
      options.decideTimeoutMs ?? DEFAULT_DECIDE_TIMEOUT_MS,
      options.log ?? (() => {}),
    );
    await registry.load(messages, options.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS);
    return registry;
  }

  /** Follows the bucket from its first entry; resolves once the entries stored now are read. */
  private load(stored: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void this.follower?.stop();
        reject(
          new LuactError(
            'UNAVAILABLE',
            `the cluster names in ${this.names.bucket} could not be read within ${timeoutMs / 1000} s`,
            { details: { bucket: this.names.bucket } },
          ),
        );
      }, timeoutMs);
      const loaded = () => {
        clearTimeout(timer);
        resolve();
      };
      this.follower = follow({
        connection: this.connection,
        js: this.js,
        stream: this.names.stream,
        filter: this.names.filter,
        history: true,
        retryMs: 1_000,
        onError: (error) =>
          this.log({
            level: 'warn',
            message: `following the cluster names failed (following again): ${String(error)}`,
            fields: { bucket: this.names.bucket },
          }),
        onMessage: (message) => {
          this.read(message);
          if (message.info.pending === 0) loaded();
        },
      });
      if (stored === 0) loaded();
    });
  }

  private read(message: JsMsg): void {
    const name = this.names.nameOf(message.subject);
    if (name === undefined) return;
    const entry = decodeEntry(message.seq, message.headers, message.data);
    const before = this.lookup(name);
    this.changed(name, this.table.apply(name, entry));
    this.tell(name, before);
  }

  /** Tells the followers when `name`'s holder is no longer `before`. */
  private tell(name: string, before: Pid | undefined): void {
    if (this.followers.size === 0) return;
    const after = this.lookup(name);
    if (after !== before) for (const follower of this.followers) follower(name, after);
  }

  /** Every name held now, with its holder, as lookups answer. */
  held(): [string, Pid][] {
    return this.table
      .heldWhere((holder) => holder.pid !== '')
      .map(([name, holder]) => [name, holder.pid]);
  }

  /**
   * Calls `follower` with every change of a name's holder from now on (undefined: released),
   * as lookups see it; returns how to stop.
   */
  follow(follower: (name: string, pid: Pid | undefined) => void): () => void {
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }

  /** Keeps this node's bookkeeping in line with a change of the table. */
  private changed(name: string, change: NameChange): void {
    switch (change.kind) {
      case 'none':
      case 'ghost':
        return;
      case 'held':
        // A registration read after its holder's node was declared down: nobody will hold it.
        if (this.down.has(incarnationKey(change.holder)))
          this.releaseInBackground(name, change.holder);
        return;
      case 'released': {
        const { holder, stale } = change;
        if (!this.forgetOwn(holder.pid, name)) return;
        if (stale) {
          this.log({
            level: 'warn',
            message: `cluster name "${name}" of ${holder.pid} was released by a release meant for an earlier holder; the process is told with a CANCEL`,
            fields: { name, pid: holder.pid, era: holder.era },
          });
          this.events?.revoked(name, holder.pid);
        }
        return;
      }
    }
  }

  attach(events: ClusterNameEvents): void {
    this.events = events;
  }

  lookup(name: string): Pid | undefined {
    const pid = this.table.holder(name)?.pid;
    return pid === '' ? undefined : pid;
  }

  heldBy(pid: Pid): number {
    return this.own.get(pid)?.size ?? 0;
  }

  async register(name: string, pid: Pid): Promise<void> {
    // Its holder ended here a moment ago: the name is free once that release is written.
    await this.releasingNames.get(name);
    if (this.table.holder(name)?.pid === pid) return;
    const subject = this.names.subject(name);
    const deadline = Date.now() + this.decideTimeoutMs;
    // A name this node never saw is most likely new: try the write that needs no read first.
    let expected: number | undefined = this.table.seq(name) === 0 ? 0 : undefined;
    const msgID = `${this.identity.node}.${this.identity.incarnation}.n${++this.registrations}`;
    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (this.closed || left <= 0) throw this.undecided('register', name, attempt);
      if (expected === undefined) {
        const last = await this.leader(() => lastEntry(this.jsm, this.names, subject), name);
        if (last?.op === 'put') throw this.taken(name, last);
        expected = last?.seq ?? 0;
      }
      let seq: number;
      try {
        const ack = await publishDurably(
          this.js,
          subject,
          holderRecord(pid, this.identity.node, this.identity.incarnation),
          // One ID per attempt: a repeat of this attempt is stored once, another attempt is new.
          {
            msgID: `${msgID}.${attempt}`,
            expect: { lastSubjectSequence: expected },
            budgetMs: left,
          },
        );
        seq = ack.seq;
      } catch (error) {
        if (isWrongLastSequence(error)) {
          expected = undefined;
          continue;
        }
        throw this.failure(`register cluster name "${name}"`, name, error);
      }
      if (expected > 0) {
        // Expecting a marker is not serialized on R3 (2.9.10): the first PUT after it won.
        const marker = expected;
        const first = await this.leader(
          () => entryFrom(this.jsm, this.names, subject, marker + 1),
          name,
        );
        if (first?.seq !== seq) throw this.taken(name, first, true);
      }
      this.claim(name, {
        pid,
        node: this.identity.node,
        incarnation: this.identity.incarnation,
        era: seq,
      });
      return;
    }
  }

  /** Records a registration the stream leader confirmed, ahead of the follower. */
  private claim(name: string, holder: NameHolder): void {
    const replaced = this.table.holder(name);
    const before = this.lookup(name);
    if (!this.table.claim(name, holder)) throw this.taken(name, undefined);
    this.tell(name, before);
    if (replaced !== undefined && replaced.pid !== holder.pid) this.forgetOwn(replaced.pid, name);
    let held = this.own.get(holder.pid);
    if (held === undefined) {
      held = new Set();
      this.own.set(holder.pid, held);
    }
    held.add(name);
  }

  async unregister(name: string): Promise<void> {
    const holder = this.table.holder(name);
    if (holder !== undefined) await this.release(name, holder);
  }

  ownerExited(pid: Pid): void {
    const held = this.own.get(pid);
    if (held === undefined) return;
    this.own.delete(pid);
    for (const name of held) {
      const holder = this.table.holder(name);
      if (holder?.pid === pid) this.releaseInBackground(name, holder);
    }
  }

  /**
   * An incarnation was declared down: its names are released. Every node does it; they write
   * one marker per name between them.
   */
  nodeDown(down: NodeIdentity): void {
    this.down.add(incarnationKey(down));
    const held = this.table.heldWhere(
      (holder) => holder.node === down.node && holder.incarnation === down.incarnation,
    );
    for (const [name, holder] of held) this.releaseInBackground(name, holder);
  }

  /**
   * Releases `name` without anyone waiting; a release that fails (NATS unavailable past the
   * decide timeout) is tried again every RELEASE_RETRY_MS while the holder still holds it.
   */
  private releaseInBackground(name: string, holder: NameHolder): void {
    if (this.closed) return;
    const releasing = this.release(name, holder)
      .catch((error: unknown) => {
        this.log({
          level: 'warn',
          message: `cluster name "${name}" of ${holder.pid} was not released (trying again in ${RELEASE_RETRY_MS / 1000} s): ${String(error)}`,
          fields: { name, pid: holder.pid },
        });
        const retry = setTimeout(() => {
          this.retries.delete(retry);
          if (this.table.holder(name)?.era === holder.era) this.releaseInBackground(name, holder);
        }, RELEASE_RETRY_MS);
        this.retries.add(retry);
      })
      .finally(() => {
        this.releasing.delete(releasing);
        if (this.releasingNames.get(name) === releasing) this.releasingNames.delete(name);
      });
    this.releasing.add(releasing);
    this.releasingNames.set(name, releasing);
  }

  /**
   * Ends `holder`'s era of `name` with a delete marker, unless it has ended already. The marker
   * expects the key's last entry (the era's PUT, or a racer's after it) and its message ID
   * names the era, so however many nodes release one era, one marker is stored.
   */
  private async release(name: string, holder: NameHolder): Promise<void> {
    const subject = this.names.subject(name);
    const deadline = Date.now() + this.decideTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      const left = deadline - Date.now();
      if (this.connection.isClosed() || left <= 0) throw this.undecided('release', name, attempt);
      const last = await this.leader(() => lastEntry(this.jsm, this.names, subject), name);
      if (last === undefined || last.op === 'delete' || last.seq < holder.era) return;
      if (await this.eraEnded(subject, name, holder.era, last.seq)) return;
      try {
        const ack = await publishDurably(this.js, subject, undefined, {
          msgID: `${this.names.bucket}.${holder.era}.released`,
          headers: markerHeaders(holder.era),
          expect: { lastSubjectSequence: last.seq },
          budgetMs: left,
        });
        const before = this.lookup(name);
        this.changed(name, this.table.apply(name, { op: 'delete', seq: ack.seq, era: holder.era }));
        this.tell(name, before);
        return;
      } catch (error) {
        if (isWrongLastSequence(error)) continue;
        throw this.failure(`release cluster name "${name}"`, name, error);
      }
    }
  }

  /** Whether a marker follows the era's PUT before `last` (only racers' PUTs may lie between). */
  private async eraEnded(
    subject: string,
    name: string,
    era: number,
    last: number,
  ): Promise<boolean> {
    let at = era + 1;
    while (at <= last) {
      const next = await this.leader(() => entryFrom(this.jsm, this.names, subject, at), name);
      if (next === undefined) return true;
      if (next.op === 'delete') return true;
      at = next.seq + 1;
    }
    return false;
  }

  private async leader<T>(read: () => Promise<T>, name: string): Promise<T> {
    try {
      return await read();
    } catch (error) {
      throw this.failure(`read cluster name "${name}"`, name, error);
    }
  }

  /** A failed NATS operation on `name`'s key, saying which name (not only its subject). */
  private failure(action: string, name: string, error: unknown): LuactError {
    const failure = natsFailure(this.connection, action, error);
    if (failure !== error) return failure;
    return new LuactError(failure.kind, `${action} failed: ${failure.message}`, {
      retryable: failure.retryable,
      details: { ...failure.details, name },
      cause: failure,
    });
  }

  /**
   * ALREADY_EXISTS naming the holder: the one this node's table gives once it has read up to
   * `entry` (the stream leader's answer), else the holder `entry` names — the first PUT after a
   * marker is the holder; the last PUT of a key may be a racer that lost, which the table knows.
   */
  private taken(name: string, entry: NameEntry | undefined, firstAfterMarker = false): LuactError {
    const fromEntry = entry?.op === 'put' && entry.pid !== '' ? entry.pid : undefined;
    const fromTable = this.table.holder(name)?.pid || undefined;
    const tableCaughtUp = entry === undefined || this.table.seq(name) >= entry.seq;
    const holder = firstAfterMarker
      ? (fromEntry ?? fromTable)
      : tableCaughtUp
        ? (fromTable ?? fromEntry)
        : (fromEntry ?? fromTable);
    return new LuactError(
      'ALREADY_EXISTS',
      holder === undefined
        ? `cluster name "${name}" was taken by another process`
        : `cluster name "${name}" is already registered by ${holder}`,
      { retryable: false, details: { name, ...(holder ? { holder } : {}) } },
    );
  }

  private undecided(what: string, name: string, attempts: number): LuactError {
    return new LuactError(
      'UNAVAILABLE',
      this.closed
        ? `cannot ${what} cluster name "${name}": the node is leaving the cluster`
        : `cannot ${what} cluster name "${name}": not decided within ${this.decideTimeoutMs / 1000} s (${attempts} attempts)`,
      { retryable: true, details: { name } },
    );
  }

  /** Drops `name` from `pid`'s names; whether it was one of them. */
  private forgetOwn(pid: Pid, name: string): boolean {
    const held = this.own.get(pid);
    if (held === undefined || !held.delete(name)) return false;
    if (held.size === 0) this.own.delete(pid);
    return true;
  }

  /**
   * Stops following the bucket once the releases under way have settled (each within the
   * decide timeout). Names still held stay until their node is declared down or has left.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const retry of this.retries) clearTimeout(retry);
    this.retries.clear();
    await Promise.all([...this.releasing]);
    await this.follower?.stop();
  }
}

function incarnationKey(identity: { readonly node: string; readonly incarnation: number }): string {
  return `${identity.node}~${identity.incarnation}`;
}
