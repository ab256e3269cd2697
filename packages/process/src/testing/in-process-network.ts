import { LuactError } from '@luact/core';
import type { NodeIdentity, Pid } from '../pid.js';
import type {
  Delivery,
  Envelope,
  RemoteSpawnRequest,
  Signal,
  Transport,
  TransportReceiver,
} from '../transport.js';

type Parcel =
  | { readonly kind: 'envelope'; readonly node: string; readonly envelope: Envelope }
  | { readonly kind: 'signal'; readonly node: string; readonly signal: Signal };

/**
 * Process systems of one JavaScript process joined as nodes of one cluster, for tests of what
 * crosses nodes (relations, order, node loss) without NATS. Each send is accepted at once and
 * delivered on a later turn of the event loop, in send order. Mail to a node that was cut off
 * is dropped, as mail to a crashed node's PIDs is; a node that never joined is UNAVAILABLE.
 */
export class InProcessNetwork {
  private readonly receivers = new Map<string, TransportReceiver>();
  private readonly joined = new Set<string>();
  private readonly queue: Parcel[] = [];
  private draining = false;

  /** The transport of node `identity` on this network. */
  transport(identity: NodeIdentity): Transport {
    return {
      identity,
      sendRemote: (node, envelope) => this.post({ kind: 'envelope', node, envelope }),
      signalRemote: (node, signal) => this.post({ kind: 'signal', node, signal }),
      spawnRemote: (node, request) => this.spawnOn(node, request),
      attach: (receiver) => {
        this.joined.add(identity.node);
        this.receivers.set(identity.node, receiver);
      },
      close: async () => void this.receivers.delete(identity.node),
    };
  }

  /** Node `node` drops off the network: what is on its way to it, and all later mail, is lost. */
  cut(node: string): void {
    this.receivers.delete(node);
  }

  /** Resolves once every parcel posted so far has been delivered or dropped. */
  async settled(): Promise<void> {
    while (this.queue.length > 0 || this.draining)
      await new Promise((resolve) => setImmediate(resolve));
  }

  /** A spawn request: answered on a later turn, as a request to another node is. */
  private async spawnOn(node: string, request: RemoteSpawnRequest): Promise<Pid> {
    await new Promise((resolve) => setImmediate(resolve));
    const receiver = this.receivers.get(node);
    if (!receiver) throw new LuactError('UNAVAILABLE', `node "${node}" is not on the network`);
    return receiver.spawn(request);
  }

  private post(parcel: Parcel): Delivery {
    if (!this.joined.has(parcel.node))
      return new LuactError('UNAVAILABLE', `node "${parcel.node}" is not on the network`);
    this.queue.push(parcel);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
    return undefined;
  }

  private drain(): void {
    for (let parcel = this.queue.shift(); parcel; parcel = this.queue.shift()) {
      const receiver = this.receivers.get(parcel.node);
      if (!receiver) continue;
      if (parcel.kind === 'envelope') receiver.deliver(parcel.envelope);
      else receiver.signal(parcel.signal);
    }
    this.draining = false;
  }
}
