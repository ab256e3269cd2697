import type {
  Delivery,
  Envelope,
  NodeIdentity,
  Pid,
  RemoteSpawnRequest,
  Signal,
  Transport,
  TransportReceiver,
} from '@luact/process';
import type { ControlChannel } from './control.js';
import type { MailTransport } from './mail-transport.js';

/**
 * The transport of a cluster node: mail (messages and signals, ordered, journaled in
 * JetStream) and control (spawns, answered by request/reply).
 */
export class ClusterTransport implements Transport {
  constructor(
    private readonly mail: MailTransport,
    private readonly control: ControlChannel,
    /** Whether a node is a member of the cluster now (a spawn there waits for it to serve). */
    private readonly isMember: (node: string) => boolean = () => false,
  ) {}

  get identity(): NodeIdentity {
    return this.mail.identity;
  }

  sendRemote(node: string, envelope: Envelope): Delivery {
    return this.mail.sendRemote(node, envelope);
  }

  signalRemote(node: string, signal: Signal): Delivery {
    return this.mail.signalRemote(node, signal);
  }

  spawnRemote(node: string, request: RemoteSpawnRequest): Promise<Pid> {
    return this.control.spawn(node, request, this.isMember);
  }

  attach(receiver: TransportReceiver): void {
    this.mail.attach(receiver);
    this.control.serve(this.identity.node, (request) => receiver.spawn(request));
  }

  /**
   * A dead incarnation's mail held here for gaps is released (see MailTransport.forget), and
   * spawns waiting for that node's answer end, unless a new incarnation of it is a member.
   */
  forget(down: NodeIdentity): void {
    this.mail.forget(down.node, down.incarnation);
    if (!this.isMember(down.node)) this.control.nodeDown(down.node);
  }

  async close(): Promise<void> {
    this.control.close();
    await this.mail.close();
  }
}
