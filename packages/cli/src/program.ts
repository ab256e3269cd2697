import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { lint } from './commands/lint.js';
import { notAvailable, type PendingEngine } from './commands/pending.js';
import { type CliIO, ExitCode, processIO } from './io.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const DEFAULT_APP = 'registry';
const ACTOR_CORE: PendingEngine = { engine: 'Lua actor runtime', issue: 3 };
const SUPERVISION: PendingEngine = { engine: 'supervision engine', issue: 4 };
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
    .description('boot an application and run it until SIGINT/SIGTERM')
    .argument('[dir]', 'application directory', DEFAULT_APP)
    .option('--nats <url>', 'join a cluster through this NATS server')
    .option('--node <name>', 'name of this node')
    .option('--exec <entry>', 'run one process entry, print its result as JSON and exit')
    .option('--verbose', 'log more')
    .action(() => finish(notAvailable('run', ACTOR_CORE, io)));

  program
    .command('test')
    .description(
      'run every entry whose meta.type is test; prints one line per test and "N passed, N failed"',
    )
    .argument('[dir]', 'application directory', DEFAULT_APP)
    .option('--filter <pattern>', 'only tests whose entry ID contains this text')
    .option('--json', 'print the results as JSON')
    .action(() => finish(notAvailable('test', ACTOR_CORE, io)));

  program
    .command('ps')
    .description('list the processes of a running node')
    .option('--json', 'print as JSON')
    .action(() => finish(notAvailable('ps', ACTOR_CORE, io)));

  program
    .command('services')
    .description('list the services of a running node with state, attempts, last error and uptime')
    .option('--json', 'print as JSON')
    .action(() => finish(notAvailable('services', SUPERVISION, io)));

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

/** Commander reports through `io` and throws instead of exiting, so codes stay ours. */
function configure(command: Command, io: CliIO): void {
  command.exitOverride().configureOutput({
    writeOut: (text) => io.stdout.write(text),
    writeErr: (text) => io.stderr.write(text),
  });
}
