import { LuactError } from '@luact/core';
import type { ClusterNameEvents, ClusterNames } from '../names.js';
import type { Pid } from '../pid.js';

/**
 * Cluster names shared by the process systems of one JavaScript process, for tests of what
 * the process system does with them (the NATS registry has its own tests). A registration is
 * decided on a later turn of the event loop, as one over the network is.
 */
export class SharedNames {
  private readonly holders = new Map<string, Pid>();
  private readonly nodes = new Set<{ readonly events: ClusterNameEvents | undefined }>();

  /** The cluster names of one node. */
  forNode(): ClusterNames {
    const node: { events: ClusterNameEvents | undefined } = { events: undefined };
    this.nodes.add(node);
    const later = () => new Promise((resolve) => setImmediate(resolve));
    return {
      register: async (name, pid) => {
        await later();
        const holder = this.holders.get(name);
        if (holder !== undefined && holder !== pid)
          throw new LuactError(
            'ALREADY_EXISTS',
            `cluster name "${name}" is already registered by ${holder}`,
          );
        this.holders.set(name, pid);
      },
      lookup: (name) => this.holders.get(name),
      heldBy: (pid) => [...this.holders.values()].filter((holder) => holder === pid).length,
      unregister: async (name) => {
        await later();
        this.holders.delete(name);
      },
      // Released on a later turn, as a release written to the cluster reaches the tables later.
      ownerExited: (pid) =>
        void later().then(() => {
          for (const [name, holder] of this.holders) if (holder === pid) this.holders.delete(name);
        }),
      attach: (events) => {
        node.events = events;
      },
    };
  }

  /** The cluster takes `name` from its holder (as after a lost race): every node hears it. */
  revoke(name: string): void {
    const holder = this.holders.get(name);
    if (holder === undefined) return;
    this.holders.delete(name);
    for (const node of this.nodes) node.events?.revoked(name, holder);
  }
}
