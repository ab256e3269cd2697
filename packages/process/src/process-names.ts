import { LuactError } from '@luact/core';
import { notAlive } from './delivery.js';
import { type ClusterNames, NameRegistry, type NameScope } from './names.js';
import { nodeOf, type Pid } from './pid.js';
import type { Process } from './process.js';
import type { ThreadNames } from './threads.js';
import type { Delivery } from './transport.js';
import { checkName, VALUE_LIMITS } from './value-limits.js';

/** What names need of the process system. */
export interface NamesHost {
  /** This node's name (undefined standalone). */
  node(): string | undefined;
  /** The live process `pid` of this node. */
  process(pid: Pid): Process | undefined;
  /** Whether `pid`, a process of another node, is known to have ended. */
  endedElsewhere(pid: Pid): boolean;
  /** Whether `pid` is an address of this node that another of its threads runs. */
  onOtherThread(pid: Pid): boolean;
  /** Registers cluster name `name` for `pid` on the thread that runs it (another than this). */
  registerOnItsThread(name: string, pid: Pid): Delivery;
}

/**
 * The names of a node's processes: local names (this node's registry) and, on a cluster node,
 * cluster names (one holder in the whole cluster). A lookup finds a local name first. On a node
 * whose processes run on several threads, `local` is this thread's copy of the node's names,
 * and `shared` changes them (see ThreadNames).
 */
export class ProcessNames {
  readonly local = new NameRegistry();
  /** Where the node is in its run, for mail to its local names: see holderSoon. */
  private phase: 'starting' | 'running' | 'stopping' = 'starting';
  private readonly startingUntil = Date.now() + NAME_STARTUP_WAIT_MS;

  constructor(
    private readonly host: NamesHost,
    private readonly cluster: ClusterNames | undefined,
    private readonly defaultScope: NameScope,
    private readonly shared?: ThreadNames,
  ) {
    shared?.attach({
      copy: this.local,
      take: (name, pid) => {
        const owner = this.host.process(pid);
        if (owner === undefined) return notAlive(pid);
        if (owner.names.size >= VALUE_LIMITS.namesPerProcess && !owner.names.has(name))
          return tooManyNames(pid, '');
        owner.names.add(name);
        return undefined;
      },
      holds: (name, pid) => this.host.process(pid)?.names.has(name) === true,
      lost: (name, pid) => this.host.process(pid)?.names.delete(name),
    });
  }

  /**
   * Registers `name` for the live process `pid` of this node, in `scope` (cluster names are
   * local ones on a standalone node): ALREADY_EXISTS when another holds it; a cluster
   * registration is a promise that settles once the cluster decided.
   */
  register(name: string, pid: Pid, scope: NameScope = this.defaultScope): Delivery {
    const cluster = scope === 'cluster' ? this.cluster : undefined;
    if (this.shared !== undefined && cluster === undefined) {
      // A process this thread knows has ended (its EXIT came here) may still hold the name
      // where names are decided, until its release from its own thread gets there: it is
      // refused here, as a process that ended is on one thread.
      const ended = this.host.endedElsewhere(pid) ? notAlive(pid) : undefined;
      return checkName(name) ?? ended ?? this.shared.register(name, pid);
    }
    const owner = this.host.process(pid);
    if (!owner) {
      const node = nodeOf(pid);
      // Its thread keeps what its processes hold (and releases it at their end).
      if (cluster !== undefined && this.host.onOtherThread(pid))
        return checkName(name) ?? this.host.registerOnItsThread(name, pid);
      if (node === undefined || node === this.host.node()) return notAlive(pid);
      return new LuactError(
        'INVALID',
        `${pid} runs on node ${node}: a name is registered on the node of its process`,
        { retryable: false },
      );
    }
    if (cluster === undefined) return this.registerLocal(name, owner);
    const invalid = checkName(name);
    if (invalid) return invalid;
    if (cluster.lookup(name) === pid) return undefined;
    if (cluster.heldBy(pid) >= VALUE_LIMITS.namesPerProcess) return tooManyNames(pid, 'cluster ');
    return cluster.register(name, pid).then(() => {
      // The owner ended while the cluster decided: nobody is left to hold the name.
      if (!this.host.process(pid)) void cluster.unregister(name).catch(() => {});
    });
  }

  /**
   * The scope a spawn's name gets: the one asked for, else the node's default; a cluster name
   * is a local one on a standalone node.
   */
  spawnScope(asked: NameScope | undefined): NameScope {
    return this.cluster === undefined ? 'local' : (asked ?? this.defaultScope);
  }

  /**
   * Whether a spawn's name in `scope` is won before its child runs (registerForSpawn): a
   * cluster name, and any name of a node whose processes run on several threads.
   */
  wonBeforeSpawn(scope: NameScope): boolean {
    return scope === 'cluster' || this.shared !== undefined;
  }

  /**
   * Gives cluster name `name` to `pid`, the PID a spawn of this node is about to give its
   * child: resolves once the cluster decided (ALREADY_EXISTS naming the holder). The child
   * does not exist yet; until it does, the name leads nowhere, as a name of an ended process.
   */
  registerForSpawn(name: string, pid: Pid, scope: NameScope): Promise<void> {
    const cluster = this.cluster;
    const invalid = checkName(name);
    if (invalid) return Promise.reject(invalid);
    if (this.shared !== undefined && (scope === 'local' || cluster === undefined))
      return this.shared.registerForSpawn(name, pid);
    if (cluster === undefined)
      return Promise.reject(
        new LuactError('INVALID', 'a cluster name needs a cluster node', { retryable: false }),
      );
    return cluster.register(name, pid);
  }

  /**
   * Resolves once this node's table of cluster names gives `name` to `pid` (another node
   * registered it), once `pid` is known to have ended, or after NAME_HEARD_WAIT_MS: a spawn on
   * another node returns once the spawner finds its child by its name.
   */
  heard(name: string, pid: Pid): Promise<void> {
    const cluster = this.cluster;
    const deadline = Date.now() + NAME_HEARD_WAIT_MS;
    return new Promise((resolve) => {
      const check = () => {
        const settled = cluster?.lookup(name) === pid || this.host.endedElsewhere(pid);
        if (settled || Date.now() >= deadline) resolve();
        else setTimeout(check, NAME_POLL_MS).unref();
      };
      check();
    });
  }

  /** A spawn that won name `name` for `pid` did not start it: the name goes again. */
  spawnFailed(pid: Pid, name: string, scope: NameScope): void {
    if (this.shared !== undefined && scope === 'local') this.shared.released(pid, [name]);
    else this.cluster?.ownerExited(pid);
  }

  /**
   * A spawn's child `pid` starts under local name `name`: registered now, or (names shared
   * by threads) won already by registerForSpawn.
   */
  registerSpawned(name: string, pid: Pid): LuactError | undefined {
    return this.shared === undefined ? this.local.register(name, pid) : undefined;
  }

  /** Registers a local name for a process of this node (a spawn's name, before it runs). */
  registerLocal(name: string, owner: Process): LuactError | undefined {
    // Names live in the node, outside any Lua heap: one process holds a bounded number.
    if (owner.names.size >= VALUE_LIMITS.namesPerProcess && !owner.names.has(name))
      return tooManyNames(owner.pid, '');
    const taken = this.local.register(name, owner.pid);
    if (taken) return taken;
    owner.names.add(name);
    return undefined;
  }

  /**
   * Mail from another node to local name `name` of this node, which may not be held yet:
   * - while the node starts (until its services have started, at most NAME_STARTUP_WAIT_MS),
   *   a promise that settles once the name is held or the start is over: a service may be
   *   about to register it;
   * - while the node stops, `later` when nobody holds it: nobody will in this run, the node's
   *   next run may, so the mail is left for it;
   * - else undefined: hand it over now (to the holder, or NOT_FOUND).
   */
  holderSoon(name: string): Promise<void> | 'later' | undefined {
    if (this.local.lookup(name) !== undefined) return undefined;
    if (this.phase === 'stopping') return 'later';
    if (!this.waitsFor(name)) return undefined;
    return new Promise((resolve) => {
      const check = () => {
        if (this.waitsFor(name)) setTimeout(check, NAME_POLL_MS).unref();
        else resolve();
      };
      setTimeout(check, NAME_POLL_MS).unref();
    });
  }

  /** The node's services have started: mail to a name nobody holds is not held back any more. */
  started(): void {
    if (this.phase === 'starting') this.phase = 'running';
  }

  /** The node is stopping: mail to a name nobody holds is left for its next run. */
  stopping(): void {
    this.phase = 'stopping';
  }

  private waitsFor(name: string): boolean {
    return (
      this.phase === 'starting' &&
      Date.now() < this.startingUntil &&
      this.local.lookup(name) === undefined
    );
  }

  /** The PID registered as `name`, a local name first, then a cluster name. */
  resolve(name: string): Pid | undefined {
    const pid = this.local.lookup(name);
    // A copy of shared names hears of a holder's end a moment after it: not from a known end.
    if (this.shared !== undefined && pid !== undefined && this.host.endedElsewhere(pid))
      return undefined;
    return pid ?? this.clusterName(name);
  }

  /** `resolve`, or NOT_FOUND. */
  lookup(name: string): Pid | LuactError {
    return this.resolve(name) ?? unknownName(name);
  }

  /**
   * Releases `name` in `scope`, or without a scope the local name if there is one, else the
   * cluster name: NOT_FOUND when no process holds it; a promise for a cluster name.
   */
  unregister(name: string, scope?: NameScope): Delivery {
    const cluster = this.cluster;
    if (this.shared !== undefined) {
      const clusterName =
        cluster !== undefined &&
        (scope === 'cluster' ||
          (scope === undefined &&
            this.local.lookup(name) === undefined &&
            cluster.lookup(name) !== undefined));
      if (!clusterName) return this.shared.unregister(name);
    }
    if (scope !== 'cluster' || cluster === undefined) {
      const owner = this.local.lookup(name);
      if (owner !== undefined) {
        this.local.unregister(name);
        this.host.process(owner)?.names.delete(name);
        return undefined;
      }
      if (scope !== undefined || cluster === undefined) return unknownName(name);
    }
    if (cluster.lookup(name) === undefined) return unknownName(name);
    return cluster.unregister(name);
  }

  /** `process` ended: its names go, here at once and in the cluster's table soon after. */
  released(process: Process, localNames: ReadonlySet<string> | undefined): void {
    this.cluster?.ownerExited(process.pid);
    if (this.shared !== undefined) {
      this.shared.released(process.pid, localNames ?? NO_NAMES);
      return;
    }
    // Most processes end with none: no iterator made for nothing (this runs at every end).
    if (localNames === undefined || localNames.size === 0) return;
    for (const name of localNames) this.local.unregister(name, process.pid);
  }

  /**
   * The holder of cluster name `name`, unless this node knows it has ended: its release reaches
   * every node's table a moment later, and until then the name must not lead to a dead PID.
   */
  private clusterName(name: string): Pid | undefined {
    const pid = this.cluster?.lookup(name);
    if (pid === undefined) return undefined;
    const node = nodeOf(pid);
    const here = (node === undefined || node === this.host.node()) && !this.host.onOtherThread(pid);
    return (here ? this.host.process(pid) !== undefined : !this.host.endedElsewhere(pid))
      ? pid
      : undefined;
  }
}

/** How long after a node starts mail to a local name of it waits for the name at most. */
export const NAME_STARTUP_WAIT_MS = 30_000;

/** The local names of a process that held none. */
const NO_NAMES: ReadonlySet<string> = new Set();

/** How long a spawn on another node waits for this node to hear of its child's cluster name. */
const NAME_HEARD_WAIT_MS = 5_000;
/** How often a waiting mail or spawn looks for its name again. */
const NAME_POLL_MS = 5;

/** Mail to `{node@|name}` on that node, when no process there holds the name. */
export function noHolder(name: string, node: string | undefined): LuactError {
  return new LuactError('NOT_FOUND', `no process holds the name "${name}" on node ${node}`, {
    retryable: false,
  });
}

export function unknownName(name: string): LuactError {
  return new LuactError('NOT_FOUND', `no process is registered as "${name}"`, { retryable: false });
}

function tooManyNames(pid: Pid, scope: string): LuactError {
  return new LuactError(
    'RATE_LIMITED',
    `${pid} already holds ${VALUE_LIMITS.namesPerProcess} ${scope}names, the limit of names per process`,
  );
}
