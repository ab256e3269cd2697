import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NatsServerHandle, type NatsServerOptions, startNatsServer } from '@luact/testkit';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { logRecords, type RunningCli, startedByTests } from '../src/luact-cli.js';

/** The application every node of these tests runs. */
export const CLUSTER_APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'app');

/**
 * The application of the workflow chaos tests (leader kills, joins): a workflow host
 * journaling at 3 replicas, so its nodes need a 3-server NATS cluster.
 */
export const CHAOS_APP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'chaos-app');

/** The JSON result `luact run --exec` prints on stdout. */
export interface ExecResult {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: { readonly kind: string; readonly message: string };
}

/** An `--exec` node: the CLI running one entry as a member of the cluster. */
export interface ExecNode {
  readonly cli: RunningCli;
  /** Its exit code and the result it printed; rejects when it printed none. */
  result(): Promise<{ readonly code: number; readonly result: ExecResult }>;
}

/**
 * luact nodes as child processes of the test, running `app` (the cluster tests' application
 * unless given), each with its own control socket and state directory in the test's scratch
 * directory. `cleanUp` (afterEach) SIGKILLs what is still
 * running and waits for it.
 */
export function clusterNodes(prefix: string, app: string = CLUSTER_APP) {
  const clis = startedByTests(prefix);
  const nodeArgs = (name: string, servers: readonly string[], extra: readonly string[]) => [
    'run',
    app,
    '--nats',
    servers.join(','),
    '--node',
    name,
    '--control',
    path.join(clis.scratch, `${name}.sock`),
    '--state-dir',
    path.join(clis.scratch, `state-${name}`),
    ...extra,
  ];
  return {
    prepare: () => clis.prepare(),
    cleanUp: () => clis.cleanUp(),
    /** `luact run` serving as `name`; resolves once it joined the cluster. */
    async serve(
      name: string,
      servers: readonly string[],
      extra: readonly string[] = [],
    ): Promise<RunningCli> {
      const cli = clis.start(nodeArgs(name, servers, extra));
      await cli.waitForLog({ msg: 'joined the cluster', node: name }, 60_000);
      return cli;
    },
    /** `luact run --exec ENTRY ARGS…` as `name`, in the background. */
    exec(
      name: string,
      servers: readonly string[],
      entry: string,
      args: readonly unknown[],
      extra: readonly string[] = [],
    ): ExecNode {
      const cli = clis.start([
        ...nodeArgs(name, servers, ['--timeout', '0', ...extra]),
        '--exec',
        entry,
        ...args.map((arg) => JSON.stringify(arg)),
      ]);
      return {
        cli,
        async result() {
          const code = await cli.exited;
          const line = cli
            .stdout()
            .split('\n')
            .find((text) => text.startsWith('{'));
          if (line === undefined)
            throw new Error(`${name} printed no result (exit ${code}):\n${cli.stderr()}`);
          return { code, result: JSON.parse(line) as ExecResult };
        },
      };
    },
  };
}

/**
 * Registers the hooks of a test file whose nodes (`clusterNodes(prefix, app)`) share one
 * nats-server started with `serverOptions`: the server runs from before the file's first test
 * to after its last, each test gets a fresh scratch directory and its nodes are killed after
 * it. `server()` is the server from beforeAll on.
 */
export function clusterSuite(
  prefix: string,
  app: string = CLUSTER_APP,
  serverOptions: NatsServerOptions = {},
) {
  let server: NatsServerHandle | undefined;
  const nodes = clusterNodes(prefix, app);

  beforeAll(async () => {
    server = await startNatsServer(serverOptions);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(() => nodes.prepare());
  afterEach(() => nodes.cleanUp());

  return {
    nodes,
    server(): NatsServerHandle {
      if (server === undefined) throw new Error('the NATS server starts in beforeAll');
      return server;
    },
  };
}

/** Views some node committed that declared a node down, from the log records of `clis`. */
export function downViews(...clis: readonly RunningCli[]): Record<string, unknown>[] {
  return clis.flatMap((cli) =>
    logRecords(cli.stderr()).filter(
      (record) =>
        record.msg === 'committed a view' &&
        Array.isArray(record.down) &&
        (record.down as unknown[]).length > 0,
    ),
  );
}
