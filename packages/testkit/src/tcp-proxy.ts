import { createServer, type Server, Socket } from 'node:net';

/** A TCP proxy between a client and one server on loopback, to cut a client off in tests. */
export interface TcpProxyHandle {
  /** `nats://127.0.0.1:<port>`: give this to the client instead of the server's URL. */
  readonly url: string;
  readonly port: number;
  /** Whether traffic is held (see `pause`). */
  readonly paused: boolean;
  /**
   * Holds all traffic both ways, on open connections and new ones, without closing anything:
   * like a network partition, the client sees no error, only silence (held bytes are delivered
   * in order once resumed, as TCP would after the partition heals).
   */
  pause(): void;
  /** Lets held and new traffic through again. */
  resume(): void;
  /** Closes every open connection (the client sees a disconnect and may reconnect). */
  dropConnections(): void;
  /** Closes every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /** The server's port on 127.0.0.1. */
  readonly targetPort: number;
  /** Port to listen on (default: a free one, kept for the proxy's life). */
  readonly port?: number;
}

/** Starts a proxy on 127.0.0.1 forwarding each connection to `targetPort`. */
export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxyHandle> {
  const links = new Set<Link>();
  let paused = false;
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    const link: Link = { client, upstream, held: [] };
    links.add(link);
    const end = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    // Forwarded by hand rather than piped: a pipe may resume a paused socket on 'drain'.
    client.on('data', (chunk: Buffer) => forward(link, upstream, chunk));
    upstream.on('data', (chunk: Buffer) => forward(link, client, chunk));
    upstream.connect(options.targetPort, '127.0.0.1');
  });
  const forward = (link: Link, to: Socket, chunk: Buffer) => {
    if (paused) link.held.push({ to, chunk });
    else to.write(chunk);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no TCP port');
  const port = address.port;
  let closed: Promise<void> | undefined;

  const dropConnections = () => {
    for (const { client, upstream } of links) {
      client.destroy();
      upstream.destroy();
    }
    links.clear();
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get paused() {
      return paused;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const link of links) {
        for (const { to, chunk } of link.held.splice(0)) to.write(chunk);
      }
    },
    dropConnections,
    close() {
      closed ??= new Promise<void>((resolve) => {
        dropConnections();
        server.close(() => resolve());
      });
      return closed;
    },
  };
}

/** One proxied connection, and the bytes held for it while paused, in arrival order. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly held: { readonly to: Socket; readonly chunk: Buffer }[];
}
