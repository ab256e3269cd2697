/**
 * Spawns that cross to another node: a process's spawn that runs on another node (the parent
 * here follows its child there), and the spawn another node asks this one for, as a local one.
 */
import type { EntryId } from '@luact/core';
import type { Pid } from './pid.js';
import type { ProcessNames } from './process-names.js';
import type { SpawnRequest } from './system.js';
import type { RemoteSpawnRequest, Transport } from './transport.js';

/** What spawns on other nodes need of the process system. */
export interface RemoteSpawnsHost {
  readonly transport: Pick<Transport, 'spawnRemote'>;
  readonly names: Pick<ProcessNames, 'spawnScope' | 'heard'>;
  /** The entry ID `reference` names from `namespace`. */
  resolveEntry(reference: string, namespace: string | undefined): EntryId;
}

export class RemoteSpawns {
  constructor(private readonly host: RemoteSpawnsHost) {}

  /**
   * Spawns on `node`, on its host `hostId`: the child runs there, and what the parent follows
   * (monitor, link, outcome channel, a cluster name) is set up here once it started. A spawn
   * with no parent process may name a follower as `remoteParent` (an inbox that takes the
   * child's outcome): the child sets that up there.
   */
  async spawn(
    node: string,
    request: SpawnRequest,
    namespace: string | undefined,
    hostId: EntryId,
  ): Promise<Pid> {
    const { parent, outcomeChannel } = request;
    const options = { ...request.options };
    delete options.node;
    const context = request.context ? [...request.context] : undefined;
    const named =
      request.name === undefined
        ? undefined
        : { name: request.name, nameScope: this.host.names.spawnScope(request.nameScope) };
    if (parent && outcomeChannel !== undefined) parent.mailbox.expectResult(outcomeChannel);
    let pid: Pid;
    try {
      pid = await this.host.transport.spawnRemote(node, {
        entry: this.host.resolveEntry(request.entry, namespace),
        host: hostId,
        args: request.args,
        ...(parent
          ? {
              parent: {
                pid: parent.pid,
                monitor: request.monitor === true,
                link: request.link === true,
                ...(outcomeChannel !== undefined ? { resultChannel: outcomeChannel } : {}),
              },
            }
          : request.remoteParent
            ? { parent: request.remoteParent }
            : {}),
        ...(context ? { context } : {}),
        ...named,
        ...(Object.keys(options).length > 0 ? { options } : {}),
        ...(request.messages ? { messages: request.messages } : {}),
      });
    } catch (error) {
      if (parent && outcomeChannel !== undefined) parent.mailbox.forgetResult(outcomeChannel);
      throw error;
    }
    if (parent && request.monitor) parent.monitoring.add(pid);
    if (parent && request.link) parent.links.add(pid);
    // Registered there before the child ran; known here too once spawn returns.
    if (named?.nameScope === 'cluster') await this.host.names.heard(named.name, pid);
    return pid;
  }
}

/** A spawn a process of another node asked for (see RemoteSpawns.spawn), as a local one. */
export function localSpawnFor(request: RemoteSpawnRequest): SpawnRequest {
  return {
    entry: request.entry,
    host: request.host,
    args: request.args,
    ...(request.kinds ? { kinds: request.kinds } : {}),
    ...(request.parent ? { remoteParent: request.parent } : {}),
    ...(request.context ? { context: new Map(request.context) } : {}),
    ...(request.name !== undefined ? { name: request.name } : {}),
    ...(request.nameScope !== undefined ? { nameScope: request.nameScope } : {}),
    ...(request.options ? { options: request.options } : {}),
    ...(request.messages ? { messages: request.messages } : {}),
  };
}
