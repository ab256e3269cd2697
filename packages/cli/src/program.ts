import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DEFAULT_NODE_NAME } from '@luact/runtime';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { ps, services } from './commands/inspect.js';
import { lint } from './commands/lint.js';
import { notAvailable, type PendingEngine } from './commands/pending.js';
import { processSignals, run } from './commands/run.js';
import { test } from './commands/test.js';
import { type CliIO, ExitCode, processIO } from './io.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const DEFAULT_APP = 'registry';
const WORKFLOWS: PendingEngine = { engine: 'durable workflow engine', issue: 5 };

/**
 * Runs the luact command line with `argv` (without node and script) and returns the exit code:
 * 0 ok, 1 failure, 2 usage error.
 */
export async function runCli(argv: readonly string[], io: CliIO = processIO()): Promise<ExitCode> {
  let exitCode: ExitCode = ExitCode.ok;
  const finish = (code: ExitCode) => {
    exitCode = code;
  };
  const program = buildProgram(io, finish);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    io.stderr.write(`luact: ${error instanceof Error ? error.message : String(error)}\n`);
    return ExitCode.failure;
  }
}

function buildProgram(io: CliIO, finish: (code: ExitCode) => void): Command {
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
    .argument('[dir]', 'application directory', DEFAULT_APP)
    .option('--json', 'print the report as JSON')
    .option('--no-env-check', 'do not report ${env:…} placeholders whose variables are unset here')
    .action(async (dir: string, options: { json?: boolean; envCheck: boolean }) =>
      finish(await lint(dir, { json: options.json === true, envCheck: options.envCheck }, io)),
    );

  program
    .command('run')
    .description(
      'boot an application and run it until SIGINT/SIGTERM, or run one entry with --exec',
    )
    .argument('[dir]', 'application directory', DEFAULT_APP)
    .argument('[args...]', 'arguments for --exec (JSON values, or text)')
    .option(
      '--exec <entry>',
      'run one process.lua or function.lua entry, print its result as JSON and exit 0 or 1',
    )
    .option('--watch', 'reload the registry when its files change (new spawns get the new code)')
    .option('--nats <url>', 'join a cluster through this NATS server')
    .option('--node <name>', 'name of this node', DEFAULT_NODE_NAME)
    .option(
      '--control <socket>',
      'serve ps/services on this Unix socket (default: derived from dir and node)',
    )
    .option('--verbose', 'also print debug log records')
    .action(
      async (
        dir: string,
        args: string[],
        options: {
          exec?: string;
          watch?: boolean;
          nats?: string;
          node: string;
          control?: string;
          verbose?: boolean;
        },
      ) => {
        if (options.nats !== undefined) {
          finish(
            notAvailable('run --nats', { engine: 'NATS cluster transport', issue: undefined }, io),
          );
          return;
        }
        // With --exec, a first argument that is not a directory is an argument of the entry.
        const [appDir, entryArgs] =
          options.exec !== undefined && dir !== DEFAULT_APP && !isDirectory(io, dir)
            ? [DEFAULT_APP, [dir, ...args]]
            : [dir, args];
        finish(
          await run(
            appDir,
            {
              exec: options.exec,
              args: entryArgs,
              watch: options.watch === true,
              verbose: options.verbose === true,
              node: options.node,
              control: options.control,
            },
            io,
            io.signals ?? processSignals(),
          ),
        );
      },
    );

  program
    .command('test')
    .description(
      'run every entry whose meta.type is test; prints one line per test and "N passed, N failed"',
    )
    .argument('[dir]', 'application directory', DEFAULT_APP)
    .option('--filter <text>', 'only tests whose entry ID contains this text')
    .option('--json', 'print the results as JSON')
    .option('--parallel <n>', 'tests running at the same time', positiveInteger, 8)
    .option(
      '--timeout <ms>',
      'time limit of one test (meta.timeout overrides)',
      positiveInteger,
      30_000,
    )
    .option('--verbose', 'also print debug log records')
    .action(
      async (
        dir: string,
        options: {
          filter?: string;
          json?: boolean;
          parallel: number;
          timeout: number;
          verbose?: boolean;
        },
      ) =>
        finish(
          await test(
            dir,
            {
              filter: options.filter,
              json: options.json === true,
              parallel: options.parallel,
              timeoutMs: options.timeout,
              verbose: options.verbose === true,
            },
            io,
          ),
        ),
    );

  const inspectCommand = (name: string, description: string, action: typeof ps) =>
    program
      .command(name)
      .description(description)
      .argument('[dir]', 'application directory of the running node', DEFAULT_APP)
      .option('--json', 'print as JSON')
      .option('--node <name>', 'name of the running node', DEFAULT_NODE_NAME)
      .option('--control <socket>', 'ask the node on this Unix socket instead')
      .action(async (dir: string, options: { json?: boolean; node: string; control?: string }) =>
        finish(
          await action(
            dir,
            { json: options.json === true, node: options.node, control: options.control },
            io,
          ),
        ),
      );
  inspectCommand('ps', 'list the processes of a running node', ps);
  inspectCommand(
    'services',
    'list the services of a running node with state, attempts, last error and uptime',
    services,
  );

  const workflow = program.command('workflow').description('inspect and control durable workflows');
  configure(workflow, io);
  const workflowCommand = (name: string, description: string, args: readonly string[] = []) => {
    const command = workflow
      .command(name)
      .description(description)
      .option('--json', 'print as JSON');
    for (const arg of args) command.argument(arg);
    command.action(() => finish(notAvailable(`workflow ${name}`, WORKFLOWS, io)));
  };
  workflowCommand('list', 'list workflows with their state');
  workflowCommand('show', 'show one workflow', ['<id>']);
  workflowCommand('history', "print a workflow's journal", ['<id>']);
  workflowCommand('signal', 'send a durable signal to a workflow', [
    '<id>',
    '<topic>',
    '[payload]',
  ]);
  workflowCommand('cancel', 'ask a workflow to cancel', ['<id>', '[reason]']);
  workflowCommand('terminate', 'end a workflow at once', ['<id>']);
  return program;
}

function isDirectory(io: CliIO, dir: string): boolean {
  try {
    return statSync(path.resolve(io.cwd, dir)).isDirectory();
  } catch {
    return false;
  }
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
