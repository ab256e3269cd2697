import { LuactError } from '@luact/core';
import type {
  Envelope,
  RemoteSpawnRequest,
  Signal,
  Transport,
  TransportReceiver,
} from './transport.js';

/** The transport of a standalone node: there are no other nodes to reach. */
export class LocalTransport implements Transport {
  readonly identity = undefined;

  sendRemote(node: string, envelope: Envelope): LuactError {
    return unreachable(node, envelope.to);
  }

  signalRemote(node: string, signal: Signal): LuactError {
    return unreachable(node, signal.to);
  }

  spawnRemote(node: string, request: RemoteSpawnRequest): Promise<never> {
    return Promise.reject(
      new LuactError(
        'UNAVAILABLE',
        `cannot spawn ${request.entry} on node "${node}": this node is standalone, not part of a cluster`,
        { retryable: false },
      ),
    );
  }

  attach(_receiver: TransportReceiver): void {}

  async close(): Promise<void> {}
}

function unreachable(node: string, pid: string): LuactError {
  return new LuactError(
    'UNAVAILABLE',
    `cannot reach ${pid}: node "${node}" is not part of this (standalone) node's cluster`,
  );
}
