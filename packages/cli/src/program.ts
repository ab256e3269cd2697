import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseDuration } from '@luact/core';
import {
  type ClusterSettings,
  DEFAULT_NODE_NAME,
  DEFAULT_WORKFLOW_LIST_LIMIT,
  type NodeNatsOption,
} from '@luact/runtime';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { applicationDir, DEFAULT_APP_DIR } from './app-dir.js';
import {
  type ClusterFlags,
  clusterSettings,
  givenClusterFlags,
  withClusterOptions,
} from './cluster-options.js';
import { cluster } from './commands/cluster.js';
import { type ClusterAskTarget, clusterPs, clusterServices } from './commands/cluster-ask.js';
import { clusterListWorkflows, clusterShowWorkflow } from './commands/cluster-workflows.js';
import type { NodeTarget } from './commands/control.js';
import { ps, services } from './commands/inspect.js';
import { lint } from './commands/lint.js';
import { processSignals, run } from './commands/run.js';
import { stop } from './commands/stop.js';
import { test } from './commands/test.js';
import {
  cancelWorkflow,
  listWorkflows,
  showWorkflow,
  signalWorkflow,
  startWorkflow,
  terminateWorkflow,
  workflowHistory,
} from './commands/workflow.js';
import { type CliIO, ExitCode, processIO } from './io.js';
import { natsOption } from './nats-option.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * Runs the luact command line with `argv` (without node and script) and returns the exit code:
 * 0 ok, 1 failure, 2 usage error.
 */
/** The exit status of a command: an ExitCode, or what a console program run by --exec chose. */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const finish = (code: number) => {
    exitCode = code;
  };
  const program = buildProgram(io, finish);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (error instanceof UsageError) {
      io.stderr.write(`luact: ${error.message} (run with --help for usage)\n`);
      return ExitCode.usage;
    }
    io.stderr.write(`luact: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  }
}

function buildProgram(io: CliIO, finish: (code: number) => void): Command {
  const program = new Command('luact')
    .description(
      'Run, test and inspect luact applications: Lua actors, functions and durable workflows.',
    )
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)');
  configure(program, io);

  program
    .command('lint')
    .description('validate an application without running it; prints every problem with file:line')
    .argument('[dir]', APP_DIR_HELP)
    .option(...DIR_OPTION)
    .option('--json', 'print the report as JSON')
    .option('--no-env-check', 'do not report ${env:…} placeholders whose variables are unset here')
    .action(
      async (dir: string | undefined, options: DirOption & { json?: boolean; envCheck: boolean }) =>
        finish(
          await lint(
            applicationDir(oneDir(dir, options), io.cwd, 'lint'),
            { json: options.json === true, envCheck: options.envCheck },
            io,
          ),
        ),
    );

  withClusterOptions(
    program
      .command('run')
      .description(
        'boot an application and run it until SIGINT/SIGTERM, or run one entry with --exec',
      )
      .argument('[dir]', APP_DIR_HELP)
      .argument('[args...]', 'arguments for --exec (JSON values, or text)')
      .option(...DIR_OPTION)
      .option(
        '--exec <entry>',
        'run one process.lua, function.lua or workflow.lua entry, print its result as JSON and exit 0 or 1',
      )
      .option(
        '--timeout <duration>',
        'with --exec: end the entry after this long, e.g. 30s or 2h (0: no limit; default: 5m, none on a terminal host)',
        duration,
      )
      .option('--json', 'with --exec: print the result as JSON also on a terminal')
      .option(
        '--host <host>',
        "with --exec: the host a process.lua entry runs on (default: the application's only terminal.host, whose processes own the console)",
      )
      .option(
        '--keep-workflow',
        'with --exec: a workflow ended by --timeout or a signal stays unfinished (it resumes on the next run) instead of terminated',
      )
      .option('--watch', 'reload the registry when its files change (new spawns get the new code)')
      .option(...NATS_OPTION)
      .option(
        '--node <name>',
        `name of this node (default: ${DEFAULT_NODE_NAME}); with --nats it joins the cluster under this name (give each node its own), also with --exec when given`,
      ),
  )
    .option(
      '--control <socket>',
      'serve ps/services on this Unix socket (default: derived from dir and node)',
    )
    .option('--state-dir <dir>', 'where workflow journals live (default: <dir>/.luact)')
    .option('--time-skip', 'workflow timers fire as soon as a run waits for nothing else')
    .option('--verbose', 'also print debug log records')
    .action(
      async (
        dir: string | undefined,
        args: string[],
        options: DirOption &
          ClusterFlags & {
            exec?: string;
            timeout?: number;
            json?: boolean;
            host?: string;
            keepWorkflow?: boolean;
            watch?: boolean;
            nats?: NodeNatsOption;
            node?: string;
            control?: string;
            stateDir?: string;
            timeSkip?: boolean;
            verbose?: boolean;
          },
      ) => {
        // A node that serves joins the cluster; one that runs one entry only when named.
        const cluster = clusterToJoin(options, options.exec !== undefined);
        // With --exec, a first argument that is not a directory is an argument of the entry.
        const [given, entryArgs] =
          options.exec !== undefined &&
          dir !== undefined &&
          (options.dir !== undefined || !isDirectory(io, dir))
            ? [undefined, [dir, ...args]]
            : [dir, args];
        finish(
          await run(
            applicationDir(oneDir(given, options), io.cwd, 'run'),
            {
              exec: options.exec,
              args: entryArgs,
              timeoutMs: options.timeout,
              host: options.host,
              keepWorkflow: options.keepWorkflow === true,
              json: options.json === true,
              watch: options.watch === true,
              verbose: options.verbose === true,
              node: options.node ?? DEFAULT_NODE_NAME,
              cluster,
              control: options.control,
              stateDir: options.stateDir,
              timeSkip: options.timeSkip === true,
              nats: options.nats,
            },
            io,
            { signals: io.signals ?? processSignals(), onIdle: io.onIdle },
          ),
        );
      },
    );

  withClusterOptions(
    program
      .command('test')
      .description(
        'run every entry whose meta.type is test; prints one line per test and "N passed, N failed"',
      )
      .argument('[dir]', APP_DIR_HELP)
      .option(...DIR_OPTION)
      .option('--filter <text>', 'only tests whose entry ID contains this text')
      .option('--json', 'print the results as JSON')
      .option('--parallel <n>', 'tests running at the same time', positiveInteger, 8)
      .option(
        '--timeout <ms>',
        'time limit of one test (meta.timeout overrides)',
        positiveInteger,
        30_000,
      )
      .option('--time-skip', 'workflow timers fire as soon as a run waits for nothing else')
      .option(
        '--state-dir <dir>',
        'keep workflow journals here (default: a fresh temporary directory)',
      )
      .option(...NATS_OPTION)
      .option(
        '--node <name>',
        'with --nats: run the tests as a node of the cluster under this name',
      ),
  )
    .option('--verbose', 'also print debug log records')
    .action(
      async (
        dir: string | undefined,
        options: DirOption &
          ClusterFlags & {
            node?: string;
            filter?: string;
            json?: boolean;
            parallel: number;
            timeout: number;
            timeSkip?: boolean;
            stateDir?: string;
            nats?: NodeNatsOption;
            verbose?: boolean;
          },
      ) => {
        // The tests run as a node of the cluster only when it is named.
        const cluster = clusterToJoin(options, true);
        finish(
          await test(
            applicationDir(oneDir(dir, options), io.cwd, 'test'),
            {
              filter: options.filter,
              json: options.json === true,
              parallel: options.parallel,
              timeoutMs: options.timeout,
              timeSkip: options.timeSkip === true,
              stateDir: options.stateDir,
              nats: options.nats,
              ...(cluster ? { cluster } : {}),
              verbose: options.verbose === true,
            },
            io,
          ),
        );
      },
    );

  /**
   * A command that asks the node running a directory: ps, services, stop; with `clusterAction`
   * it also takes `--nats` and then asks every node of the cluster instead.
   */
  const nodeCommand = (
    name: string,
    description: string,
    jsonHelp: string,
    action: (target: NodeTarget, io: CliIO) => Promise<ExitCode>,
    clusterAction?: (target: ClusterAskTarget, io: CliIO) => Promise<ExitCode>,
  ) => {
    const command = program
      .command(name)
      .description(description)
      .argument('[dir]', 'application directory of the running node (default: .)')
      .option(...DIR_OPTION)
      .option('--json', jsonHelp)
      .option('--node <name>', 'name of the running node', DEFAULT_NODE_NAME)
      .option('--control <socket>', 'ask the node on this Unix socket instead');
    if (clusterAction) command.option(...CLUSTER_NATS_OPTION);
    return command.action(
      async (
        dir: string | undefined,
        options: DirOption & {
          json?: boolean;
          node: string;
          control?: string;
          nats?: NodeNatsOption;
        },
      ) => {
        const appDir = oneDir(dir, options) ?? DEFAULT_APP_DIR;
        if (clusterAction && options.nats !== undefined) {
          if (options.control !== undefined)
            throw new UsageError('--control and --nats ask different places: give one');
          finish(
            await clusterAction(
              {
                nats: options.nats,
                dir: appDir,
                json: options.json === true,
                node: command.getOptionValueSource('node') === 'cli' ? options.node : undefined,
              },
              io,
            ),
          );
          return;
        }
        finish(
          await action(
            {
              dir: appDir,
              node: options.node,
              control: options.control,
              json: options.json === true,
            },
            io,
          ),
        );
      },
    );
  };
  nodeCommand(
    'ps',
    'list the processes of a running node, or of every node of a cluster (--nats)',
    'print as JSON',
    ps,
    clusterPs,
  );
  nodeCommand(
    'services',
    'list the services of a running node (or of every node of a cluster, --nats) with state, attempts, last error and uptime',
    'print as JSON',
    services,
    clusterServices,
  );
  nodeCommand(
    'stop',
    'stop the node running an application, as SIGTERM would; names the services that were failing',
    'print the services as they were, as JSON',
    stop,
  );

  program
    .command('cluster')
    .description(
      'show a cluster: its members (incarnations, when they joined, last beat, queues), its view, and which node owns which workflow partitions',
    )
    .argument(
      '[dir]',
      'application directory, for a --nats that names one of its entries (default: .)',
    )
    .option(...DIR_OPTION)
    .requiredOption(
      '--nats <servers>',
      "the cluster's NATS: server URLs separated by commas, or the ID of a nats.connection entry of the application",
      natsOption,
    )
    .option('--json', 'print everything as JSON: every partition with its owner and epoch')
    .action(
      async (
        dir: string | undefined,
        options: DirOption & { nats: NodeNatsOption; json?: boolean },
      ) =>
        finish(
          await cluster(
            {
              nats: options.nats,
              dir: oneDir(dir, options) ?? DEFAULT_APP_DIR,
              json: options.json === true,
            },
            io,
          ),
        ),
    );

  const workflow = program
    .command('workflow')
    .description('inspect and control the workflows of a running node');
  configure(workflow, io);
  const workflowCommand = (name: string, description: string, args: readonly string[] = []) => {
    const command = workflow
      .command(name)
      .description(description)
      .option(...DIR_OPTION)
      .option('--json', 'print as JSON')
      .option('--node <name>', 'name of the running node', DEFAULT_NODE_NAME)
      .option('--control <socket>', 'ask the node on this Unix socket instead');
    for (const arg of args) command.argument(arg);
    return command;
  };
  type WorkflowOptions = DirOption & {
    json?: boolean;
    node: string;
    control?: string;
    nats?: NodeNatsOption;
  };
  /** With `--nats`, where a workflow command asks the cluster; undefined without. */
  const clusterTarget = (
    options: WorkflowOptions,
    command: Command,
  ): ClusterAskTarget | undefined => {
    if (options.nats === undefined) return undefined;
    if (options.control !== undefined)
      throw new UsageError('--control and --nats ask different places: give one');
    return {
      nats: options.nats,
      dir: options.dir ?? DEFAULT_APP_DIR,
      json: options.json === true,
      node: command.getOptionValueSource('node') === 'cli' ? options.node : undefined,
    };
  };
  const target = (options: WorkflowOptions): NodeTarget => ({
    dir: options.dir ?? DEFAULT_APP_DIR,
    node: options.node,
    control: options.control,
    json: options.json === true,
  });
  workflowCommand('start', 'start a workflow.lua entry and print its PID', ['<entry>', '[args...]'])
    .option('--id <id>', 'its workflow ID (a running one with that ID is found again)')
    .option('--host <host>', "the workflow host (default: the entry's meta.host, or the only one)")
    .action(
      async (
        entry: string,
        args: string[],
        options: WorkflowOptions & { id?: string; host?: string },
      ) =>
        finish(
          await startWorkflow(
            target(options),
            entry,
            args,
            { id: options.id, host: options.host },
            io,
          ),
        ),
    );
  workflowCommand(
    'list',
    'list workflow runs, running and ended, newest first (also those of earlier runs of the node)',
  )
    .option(
      '--status <status>',
      'only runs in this status: running, replaying, blocked, unreadable, completed, failed, canceled, terminated, continued (repeat it or separate with commas)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--entry <id>', 'only runs of this workflow.lua entry')
    .option('--limit <n>', 'show at most this many', positiveInteger, DEFAULT_WORKFLOW_LIST_LIMIT)
    .option(...CLUSTER_NATS_OPTION)
    .action(
      async (
        options: WorkflowOptions & { status?: string[]; entry?: string; limit: number },
        command: Command,
      ) => {
        const filter = {
          statuses: options.status ?? [],
          entry: options.entry,
          limit: options.limit,
        };
        const cluster = clusterTarget(options, command);
        finish(
          cluster
            ? await clusterListWorkflows(cluster, filter, io)
            : await listWorkflows(target(options), filter, io),
        );
      },
    );
  workflowCommand('show', 'show one workflow: input, status, result or error', ['<id>'])
    .option(...CLUSTER_NATS_OPTION)
    .action(async (id: string, options: WorkflowOptions, command: Command) => {
      const cluster = clusterTarget(options, command);
      finish(
        cluster
          ? await clusterShowWorkflow(cluster, id, io)
          : await showWorkflow(target(options), id, io),
      );
    });
  workflowCommand('history', "print a workflow's journal, one record a line", ['<id>']).action(
    async (id: string, options: WorkflowOptions) =>
      finish(await workflowHistory(target(options), id, io)),
  );
  workflowCommand('signal', 'send a durable message (payload: JSON or text)', [
    '<id>',
    '<topic>',
    '[payload]',
  ]).action(
    async (id: string, topic: string, payload: string | undefined, options: WorkflowOptions) =>
      finish(await signalWorkflow(target(options), id, topic, payload, io)),
  );
  workflowCommand('cancel', 'ask a workflow to cancel (a CANCEL event with the reason)', [
    '<id>',
    '[reason]',
  ]).action(async (id: string, reason: string | undefined, options: WorkflowOptions) =>
    finish(await cancelWorkflow(target(options), id, reason, io)),
  );
  workflowCommand('terminate', 'end a workflow at once', ['<id>']).action(
    async (id: string, options: WorkflowOptions) =>
      finish(await terminateWorkflow(target(options), id, io)),
  );
  return program;
}

/** `--nats` of the commands that ask every node of a cluster. */
const CLUSTER_NATS_OPTION = [
  '--nats <servers>',
  'ask every node of the cluster on this NATS instead (server URLs separated by commas, or the ID of a nats.connection entry of the application); with --node, only that node',
  natsOption,
] as const;

/** `--nats` of the commands that start a node. */
const NATS_OPTION = [
  '--nats <servers>',
  'connect the node to NATS: server URLs separated by commas, or the ID of a nats.connection entry (its auth and TLS are used); workflow hosts without a journal or connection of their own then journal to JetStream',
  natsOption,
] as const;

/** A mistake in how a command was called, found after Commander parsed it. */
class UsageError extends Error {}

/**
 * The cluster a run or test joins: with `--nats`, as `--node` (which it must be given when
 * `named`, else it defaults). Cluster flags on one that joins none would do nothing: they are
 * a usage error naming them and what is missing.
 */
function clusterToJoin(
  options: ClusterFlags & { readonly nats?: unknown; readonly node?: string },
  named: boolean,
): ClusterSettings | undefined {
  if (options.nats !== undefined && (!named || options.node !== undefined))
    return clusterSettings(options.node ?? DEFAULT_NODE_NAME, options);
  const given = givenClusterFlags(options);
  if (given.length === 0) return undefined;
  const missing = [
    ...(options.nats === undefined ? ['--nats'] : []),
    ...(named && options.node === undefined ? ['--node'] : []),
  ];
  const flags =
    given.length === 1 ? given[0] : `${given.slice(0, -1).join(', ')} and ${given.at(-1)}`;
  throw new UsageError(
    `${flags} ${given.length === 1 ? 'applies' : 'apply'} only to a node that joins a cluster: give ${missing.join(' and ')}`,
  );
}

const APP_DIR_HELP = 'application directory (default: ., which must hold its *.yaml files)';

/** Every command also takes the directory as an option, so it reads the same everywhere. */
const DIR_OPTION = [
  '-d, --dir <dir>',
  'application directory (the same as the [dir] argument)',
] as const;

interface DirOption {
  readonly dir?: string;
}

/** The directory given as argument or as `--dir`; both at once must agree. */
function oneDir(positional: string | undefined, options: DirOption): string | undefined {
  if (positional !== undefined && options.dir !== undefined && positional !== options.dir)
    throw new UsageError(
      `two application directories given: ${positional} and --dir ${options.dir}`,
    );
  return positional ?? options.dir;
}

function isDirectory(io: CliIO, dir: string): boolean {
  try {
    return statSync(path.resolve(io.cwd, dir)).isDirectory();
  } catch {
    return false;
  }
}

/** The longest delay a Node.js timer takes (~24.8 days); longer ones would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A `--timeout` value: a duration such as 30s or 1h30m, in milliseconds. */
function duration(text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  if (parsed.value < 0) throw new InvalidArgumentError(`"${text}" is negative`);
  if (parsed.value > MAX_TIMER_MS)
    throw new InvalidArgumentError(`"${text}" is longer than 24 days; 0 means no limit`);
  return Math.ceil(parsed.value);
}

function positiveInteger(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new InvalidArgumentError('expected a positive integer');
  return value;
}

/** Commander reports through `io` and throws instead of exiting, so codes stay ours. */
function configure(command: Command, io: CliIO): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
}
