/**
 * Links and monitors between processes, wherever each one runs: setting them up and dropping
 * them, what a process's end tells the processes related to it, and what a lost node tells
 * them (or a lost worker thread). Mail and signals still go through the system's one router (`route`, `signal`).
 */
import { LuactError } from '@luact/core';
import type { Clock } from '@luact/lua';
import { forget, notAlive } from './delivery.js';
import type { ExternalHost } from './external-host.js';
import { type NodeIdentity, type Pid, parsePid } from './pid.js';
import type { Process, Relations } from './process.js';
import type { Route } from './system.js';
import type { Delivery, ExitOutcome, RemoteParent, Signal } from './transport.js';

/** What links and monitors need of the process system. */
export interface LinksAndMonitorsHost {
  readonly clock: Pick<Clock, 'now'>;
  route(pid: Pid): Route;
  /** The live process `pid` of this node. */
  process(pid: Pid): Process | undefined;
  /** Every live process of this node. */
  processes(): Iterable<Process>;
  /** A signal wherever its target's address leads (checked as a sent one is). */
  signal(signal: Signal): Delivery;
  /** A signal to a process of this node, acted on at once. */
  signalHere(signal: Signal): void;
  /** TypeScript inboxes that watch processes `gone` picks hear that they ended. */
  inboxesLost(gone: (pid: Pid) => boolean, outcome: ExitOutcome, at: bigint): void;
  /** Ends a process of this node at once with `error`. */
  kill(process: Process, error: LuactError): void;
}

export class LinksAndMonitors {
  /** The workflows each process watches through their host (watchOnce), with the pending watch. */
  private readonly externalWatches = new WeakMap<Process, Map<Pid, Promise<void>>>();
  /**
   * The caller elsewhere of each function running here for one (`funcs.call` from another
   * node or thread): a call ends with its caller, and a lost place cannot say its callers ended.
   */
  private readonly callers = new Map<Process, Pid>();

  constructor(private readonly host: LinksAndMonitorsHost) {}

  /**
   * Links `process` and `other` wherever `other` lives. A link to a workflow goes one way: the
   * workflow's failure reaches the process as a linked one's would, and the process's end leaves
   * the durable workflow running.
   */
  link(process: Process, other: Pid): Delivery {
    if (other === process.pid)
      return new LuactError('INVALID', 'a process cannot link to itself', { retryable: false });
    const route = this.host.route(other);
    if (route.kind === 'external') return this.linkExternal(process, route.host, other);
    if (route.kind === 'remote' || route.kind === 'thread') {
      process.links.add(other);
      return this.host.signal({ kind: 'link', to: other, from: process.pid });
    }
    if (route.kind !== 'process') return notAlive(other);
    process.links.add(other);
    route.process.links.add(process.pid);
    return undefined;
  }

  unlink(process: Process, other: Pid): void {
    process.links.delete(other);
    this.dropRelation(process.pid, other, 'unlink');
  }

  /**
   * `process` gets EXIT when `other` ends, wherever it runs: at once for a process here, a
   * promise for a workflow (its host journals the watch).
   */
  monitor(process: Process, other: Pid): Delivery {
    if (other === process.pid)
      return new LuactError('INVALID', 'a process cannot monitor itself', { retryable: false });
    const route = this.host.route(other);
    switch (route.kind) {
      case 'process':
        route.process.monitors.add(process.pid);
        process.monitoring.add(other);
        return undefined;
      case 'external':
        return this.watchExternal(process, route.host, other);
      case 'remote':
      case 'thread':
        process.monitoring.add(other);
        return this.host.signal({ kind: 'monitor', to: other, from: process.pid });
      default:
        return notAlive(other);
    }
  }

  unmonitor(process: Process, other: Pid): void {
    process.monitoring.delete(other);
    this.dropRelation(process.pid, other, 'demonitor');
  }

  /** EXIT to `watcher` when the workflow `target` ends (unless it stopped monitoring it). */
  async watchExternal(watcher: Process, host: ExternalHost, target: Pid): Promise<void> {
    watcher.monitoring.add(target);
    try {
      await this.watchOnce(watcher, host, target);
    } catch (error) {
      watcher.monitoring.delete(target);
      throw error;
    }
  }

  /** LINK_DOWN to `process` when the workflow `target` fails (unless it unlinked first). */
  async linkExternal(process: Process, host: ExternalHost, target: Pid): Promise<void> {
    process.links.add(target);
    try {
      await this.watchOnce(process, host, target);
    } catch (error) {
      process.links.delete(target);
      throw error;
    }
  }

  /**
   * One watch of workflow `target` per process, however often it monitors, links, unmonitors
   * and unlinks: the workflow host keeps each watch until the workflow ends, so a watch per
   * call would pile up (and each would deliver its own EXIT). Its end reaches the monitor and
   * the link the process holds at that moment.
   */
  private watchOnce(process: Process, host: ExternalHost, target: Pid): Promise<void> {
    let watches = this.externalWatches.get(process);
    if (watches === undefined) {
      watches = new Map();
      this.externalWatches.set(process, watches);
    }
    const known = watches.get(target);
    if (known !== undefined) return known;
    const watching = host.watch(target, (outcome) => this.externalEnded(process, target, outcome));
    watches.set(target, watching);
    watching.catch(() => watches.delete(target));
    return watching;
  }

  private externalEnded(process: Process, target: Pid, outcome: ExitOutcome): void {
    this.externalWatches.get(process)?.delete(target);
    const at = this.host.clock.now();
    if (process.monitoring.has(target))
      forget(this.host.signal({ kind: 'exit', to: process.pid, from: target, at, outcome }));
    if (!process.links.has(target)) return;
    if (outcome.ok) process.links.delete(target);
    else
      forget(this.host.signal({ kind: 'link-down', to: process.pid, from: target, at, outcome }));
  }

  /**
   * The relations a parent on another node asked for, set up before the child's first step;
   * `call`: the child runs a function its parent called, which ends with its caller.
   */
  followedFromAfar(process: Process, parent: RemoteParent, call = false): void {
    if (parent.monitor) process.monitors.add(parent.pid);
    if (parent.link) process.links.add(parent.pid);
    const channel = parent.resultChannel;
    if (channel === undefined) return;
    if (call) {
      this.callers.set(process, parent.pid);
      process.exitListeners.add(() => this.callers.delete(process));
    }
    process.exitListeners.add((outcome) =>
      forget(
        this.host.signal({ kind: 'result', to: parent.pid, from: process.pid, channel, outcome }),
      ),
    );
  }

  /**
   * `process` ended with `outcome`: its monitors get EXIT; its links LINK_DOWN when it failed,
   * else they just drop it; what it monitored stops watching for it.
   */
  ended(process: Process, relations: Relations, outcome: ExitOutcome): void {
    const at = relations.monitors.size + relations.links.size > 0 ? this.host.clock.now() : 0n;
    for (const watcher of relations.monitors)
      forget(this.host.signal({ kind: 'exit', to: watcher, from: process.pid, at, outcome }));
    for (const linked of relations.links) {
      if (outcome.ok) this.dropRelation(process.pid, linked, 'unlink');
      else
        forget(this.host.signal({ kind: 'link-down', to: linked, from: process.pid, at, outcome }));
    }
    for (const target of relations.monitoring) this.dropRelation(process.pid, target, 'demonitor');
  }

  /**
   * A process of another node asked to monitor or link to one that is not alive here: it gets
   * EXIT or LINK_DOWN at once, as it would have had the process ended after the request.
   */
  refuse(signal: Signal): void {
    if (signal.kind !== 'monitor' && signal.kind !== 'link') return;
    const outcome: ExitOutcome = { ok: false, error: notAlive(signal.to) };
    const at = this.host.clock.now();
    const kind = signal.kind === 'monitor' ? 'exit' : 'link-down';
    forget(this.host.signal({ kind, to: signal.from, from: signal.to, at, outcome }));
  }

  /**
   * A node (that incarnation of it) is gone: every process here that monitored one of its
   * processes gets EXIT and every linked one LINK_DOWN, with UNAVAILABLE "node down: NAME";
   * what its processes watched here is forgotten.
   */
  nodeDown(down: NodeIdentity): void {
    const error = new LuactError('UNAVAILABLE', `node down: ${down.node}`, {
      details: { node: down.node, incarnation: down.incarnation },
    });
    this.placeDown((pid) => {
      const parts = parsePid(pid);
      return parts?.node === down.node && parts.incarnation === down.incarnation;
    }, error);
  }

  /**
   * The processes `onIt` picks are gone with the place that ran them (a node, a worker
   * thread), without a word from them: every process here that monitored one gets EXIT, every
   * linked one LINK_DOWN, every inbox that watched one its end, all with `error`; what they
   * watched here is forgotten, and the functions they called here end (CANCELED).
   */
  placeDown(onIt: (pid: Pid) => boolean, error: LuactError): void {
    const outcome: ExitOutcome = { ok: false, error };
    const at = this.host.clock.now();
    this.host.inboxesLost(onIt, outcome, at);
    for (const [callee, caller] of [...this.callers]) {
      if (!onIt(caller)) continue;
      const ended = new LuactError('CANCELED', `the caller ended: ${error.message}`, {
        retryable: false,
      });
      this.host.kill(callee, ended);
    }
    for (const process of [...this.host.processes()]) {
      const relations = process.existingRelations;
      if (relations === undefined) continue;
      for (const watcher of [...relations.monitors])
        if (onIt(watcher)) relations.monitors.delete(watcher);
      for (const target of [...relations.monitoring]) {
        if (onIt(target))
          this.host.signalHere({ kind: 'exit', to: process.pid, from: target, at, outcome });
      }
      for (const linked of [...relations.links]) {
        if (onIt(linked))
          this.host.signalHere({ kind: 'link-down', to: process.pid, from: linked, at, outcome });
      }
    }
  }

  /** `other` no longer links to or watches `from`: at once here, by a signal on another node. */
  private dropRelation(from: Pid, other: Pid, kind: 'unlink' | 'demonitor'): void {
    const local = this.host.process(other);
    if (local) {
      if (kind === 'unlink') local.links.delete(from);
      else local.monitors.delete(from);
    } else if (elsewhere(this.host.route(other))) {
      forget(this.host.signal({ kind, to: other, from }));
    }
  }
}

/** Whether a route leads to another node or another thread of this one. */
function elsewhere(route: Route): boolean {
  return route.kind === 'remote' || route.kind === 'thread';
}
