/**
 * Where a spawn runs, and starting it there: on a process host of this node (winning a
 * cluster name first when it has one), on a host that journals first (a workflow host), or on
 * another node (the spawn option `node`, or the cluster's placement). The local spawn itself is
 * the system's (`ProcessSystem.spawn`).
 */
import { type EntryId, LuactError } from '@luact/core';
import type { ExternalHost } from './external-host.js';
import type { NameScope } from './names.js';
import { deliverOutcome } from './outcome.js';
import type { Pid } from './pid.js';
import type { Process } from './process.js';
import type { ProcessNames } from './process-names.js';
import type { RemoteSpawns } from './remote-spawns.js';
import type { Placement, SpawnRequest } from './system.js';

/** What routing spawns needs of the process system. */
export interface SpawnRoutingHost {
  /** This node's name (undefined standalone). */
  node(): string | undefined;
  readonly placement: Placement | undefined;
  readonly names: Pick<
    ProcessNames,
    'spawnScope' | 'wonBeforeSpawn' | 'registerForSpawn' | 'spawnFailed'
  >;
  readonly remote: RemoteSpawns;
  /** The host ID `reference` names from `namespace`. */
  resolveHost(reference: string, namespace: string | undefined): EntryId;
  /** The entry ID `reference` names from `namespace`. */
  resolveEntry(reference: string, namespace: string | undefined): EntryId;
  /** The host of function calls: the cluster's placement does not move its processes. */
  readonly functionHostId: string;
  /** Whether `id` is a process host of this thread. */
  isProcessHost(id: EntryId): boolean;
  /** Whether `id` is a process host of this node, on any of its threads. */
  isHostOfNode(id: EntryId): boolean;
  externalHost(id: EntryId): ExternalHost | undefined;
  /**
   * The node's other threads (a host on worker threads): which one a spawn runs on, and the
   * spawns there, followed from here as a spawn on another node is.
   */
  readonly threads?: {
    threadFor(hostId: EntryId, spawner: Process | undefined): string | undefined;
    readonly spawns: RemoteSpawns;
  };
  /** The next child's number on this node, and its PID on host `hostId`. */
  numberChild(hostId: string): { readonly id: number; readonly pid: Pid };
  /** Spawns on a process host of this node; throws why it cannot. */
  spawnLocal(request: SpawnRequest): Pid;
  /** spawnLocal, the child numbered `id` (from numberChild). */
  spawnNumbered(request: SpawnRequest, id: number): Pid;
  /** EXIT to `watcher` when the workflow `target` ends. */
  watchExternal(watcher: Process, host: ExternalHost, target: Pid): Promise<void>;
  linkExternal(process: Process, host: ExternalHost, target: Pid): Promise<void>;
}

export class SpawnRouting {
  constructor(private readonly host: SpawnRoutingHost) {}

  /**
   * Spawns wherever the host lives: on a process host of this node (the PID at once), on a
   * host that journals first (a workflow host: a promise for the PID), or on the node the
   * spawn option `node` names (a promise). The one place that decides where a spawn goes.
   */
  spawnAnywhere(request: SpawnRequest): Pid | Promise<Pid> {
    const namespace = spawnNamespace(request);
    const hostId = this.host.resolveHost(request.host, namespace);
    const external = this.host.externalHost(hostId);
    const node =
      spawnNode(request.options) ?? (external ? undefined : this.placed(request, hostId));
    if (node !== undefined && node !== this.host.node())
      return this.host.remote.spawn(node, request, namespace, hostId);
    // On this node: on the thread that runs the host, when it is another.
    const threads = this.host.threads;
    const thread = threads?.threadFor(hostId, request.parent);
    if (threads && thread !== undefined)
      return threads.spawns.spawn(thread, request, namespace, hostId);
    return external ? this.spawnExternal(external, request, namespace) : this.spawnHere(request);
  }

  /**
   * A spawn on a process host of this node: a cluster name (or any name, when the node's
   * threads share its names) is won before the child runs.
   */
  spawnHere(request: SpawnRequest): Pid | Promise<Pid> {
    if (request.name === undefined) return this.host.spawnLocal(request);
    const scope = this.host.names.spawnScope(request.nameScope);
    if (!this.host.names.wonBeforeSpawn(scope)) return this.host.spawnLocal(request);
    const { name, nameScope: _, ...unnamed } = request;
    const hostId = this.host.resolveHost(request.host, spawnNamespace(request));
    // A missing host fails here, before the name is taken.
    if (!this.host.isProcessHost(hostId)) return this.host.spawnLocal(unnamed);
    // A cluster name is the cluster's to release; a local one is the child's, released at its end.
    return this.spawnNamed(
      scope === 'cluster' ? unnamed : { ...unnamed, name },
      name,
      scope,
      hostId,
    );
  }

  /**
   * The child's PID is numbered first and wins the name (a taken name fails the spawn with
   * ALREADY_EXISTS, and nothing runs); then the child starts under it. A spawn that fails
   * after the name was won releases it.
   */
  private async spawnNamed(
    request: SpawnRequest,
    name: string,
    scope: NameScope,
    hostId: string,
  ): Promise<Pid> {
    const { id, pid } = this.host.numberChild(hostId);
    await this.host.names.registerForSpawn(name, pid, scope);
    try {
      if (request.parent?.exited) {
        throw new LuactError(
          'CANCELED',
          `${request.parent.pid} ended before its child could start`,
          {
            retryable: false,
          },
        );
      }
      return this.host.spawnNumbered(request, id);
    } catch (error) {
      this.host.names.spawnFailed(pid, name, scope);
      throw error;
    }
  }

  /**
   * The node the cluster's placement picks for a spawn that names none: only a process's
   * spawn of an unnamed child on a process host (a name is this node's, so its holder stays).
   */
  private placed(request: SpawnRequest, hostId: EntryId): string | undefined {
    const placement = this.host.placement;
    if (!placement || !request.parent) return undefined;
    // A local name is known on its node only: its holder stays where it is looked up.
    if (request.name !== undefined && this.host.names.spawnScope(request.nameScope) === 'local')
      return undefined;
    if (hostId === this.host.functionHostId || !this.host.isHostOfNode(hostId)) return undefined;
    return placement.nodeFor(hostId);
  }

  /** A spawn on a journaling host: started once it is durable there, then followed. */
  private async spawnExternal(
    host: ExternalHost,
    request: SpawnRequest,
    namespace: string | undefined,
  ): Promise<Pid> {
    const parent = request.parent;
    const pid = await host.spawn({
      entry: this.host.resolveEntry(request.entry, namespace),
      args: request.args,
      parent: parent?.pid,
      context: request.context ?? NO_CONTEXT,
      ...(request.name !== undefined ? { name: request.name } : {}),
      ...(request.options !== undefined ? { options: request.options } : {}),
      ...(request.messages ? { messages: request.messages } : {}),
    });
    if (parent && request.monitor) await this.host.watchExternal(parent, host, pid);
    if (parent && request.link) await this.host.linkExternal(parent, host, pid);
    const channel = request.outcomeChannel;
    if (parent && channel !== undefined) {
      // Expected before watching: a workflow that already ended answers at once.
      parent.mailbox.expectResult(channel);
      await host
        .watch(pid, (outcome) => deliverOutcome(parent, channel, outcome, pid))
        .catch((error: unknown) => {
          parent.mailbox.forgetResult(channel);
          throw error;
        });
    }
    return pid;
  }
}

const NO_CONTEXT: ReadonlyMap<string, Uint8Array> = new Map();

/** The namespace a spawn's relative entry and host IDs resolve in: its parent's entry's. */
export function spawnNamespace(request: SpawnRequest): string | undefined {
  // splitEntryId's namespace, without the parts object and name it makes (spawning is hot).
  const entry = request.parent?.entry;
  return entry === undefined ? undefined : entry.slice(0, entry.indexOf(':'));
}

/** The node a spawn's options name (`node`), if any. */
function spawnNode(options: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const node = options?.node;
  if (node === undefined) return undefined;
  if (typeof node !== 'string' || node === '')
    throw new LuactError('INVALID', 'the spawn option "node" is a node name', { retryable: false });
  return node;
}
