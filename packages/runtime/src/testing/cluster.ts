import { type NatsServerHandle, startNatsServer } from '@luact/testkit';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type ClusterSettings, Node, type NodeOptions } from '../node.js';
import { writeApp } from './app.js';

/** How one node of a `clusterOnNats` suite starts; each field has a default. */
export interface SuiteNodeOptions {
  /** NATS servers to join through (e.g. a proxy's URL): the suite's server by default. */
  readonly servers?: string;
  /** An application directory already written (`writeAppDir`): a new one of the suite's app by default. */
  readonly dir?: string;
  /** Cluster settings besides the name and the suite's liveness (e.g. `placement`). */
  readonly cluster?: Omit<ClusterSettings, 'name'>;
  /** Where the node's Lua `print` goes. */
  readonly print?: NodeOptions['print'];
}

/**
 * Registers the hooks of a test file whose cluster nodes share one NATS server: the server
 * starts before the file's tests and stops after them; what a test started (nodes, app
 * directories, anything given to `onCleanup`) stops after it, last started first.
 * `app` is the application's app.yaml; `liveness` is every node's liveness timing.
 */
export function clusterOnNats(app: string, liveness: NonNullable<ClusterSettings['liveness']>) {
  let server: NatsServerHandle | undefined;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    server = await startNatsServer();
  }, 30_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });
  afterAll(async () => {
    await server?.stop();
  });

  const started = (): NatsServerHandle => {
    if (server === undefined) throw new Error('the NATS server starts in beforeAll');
    return server;
  };
  const writeAppDir = async (): Promise<string> => {
    const written = await writeApp({ 'app.yaml': app });
    cleanups.push(written.remove);
    return written.dir;
  };

  return {
    /** The suite's NATS server (from beforeAll on). */
    server: started,
    /** Runs `cleanup` after the current test, before what was started earlier. */
    onCleanup(cleanup: () => Promise<unknown>): void {
      cleanups.push(cleanup);
    },
    /** Writes the suite's app into a new directory, removed after the test. */
    writeAppDir,
    /** Starts node `name` of the cluster; it stops after the test. */
    async startNode(name: string, options: SuiteNodeOptions = {}): Promise<Node> {
      const dir = options.dir ?? (await writeAppDir());
      const node = await Node.start({
        dir,
        env: {},
        nats: { servers: options.servers ?? started().url },
        cluster: { ...options.cluster, name, liveness },
        ...(options.print ? { print: options.print } : {}),
      });
      cleanups.push(() => node.stop());
      return node;
    },
  };
}
