import path from 'node:path';
import { LuactError } from '@luact/core';
import { displayPath, formatDiagnostic } from '@luact/registry';
import {
  type ClusterSettings,
  DEFAULT_NODE_NAME,
  defaultControlSocket,
  type Node,
  type NodeNatsOption,
  type TerminalConsole,
} from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { bootNode, reportStop } from './boot.js';
import { DEFAULT_EXEC_TIMEOUT_MS, type ExecStops, execOnce, formatOutcome } from './exec.js';
import { startServices } from './services-start.js';

export interface RunOptions {
  readonly exec: string | undefined;
  readonly args: readonly string[];
  /**
   * How long an `--exec` entry may run (0: no limit; default: DEFAULT_EXEC_TIMEOUT_MS, none
   * for a program on a terminal host, which may wait for its user as long as it likes).
   */
  readonly timeoutMs: number | undefined;
  /** `--host`: the host an `--exec` process runs on (default: the only terminal.host, if any). */
  readonly host?: string | undefined;
  /** An `--exec` workflow ended early stays unfinished instead of terminated. */
  readonly keepWorkflow: boolean;
  /** `--exec` prints JSON even on a terminal. */
  readonly json: boolean;
  readonly watch: boolean;
  readonly verbose: boolean;
  /** This node's name; with the directory it names the control socket. */
  readonly node: string;
  /** An explicit control socket path. */
  readonly control: string | undefined;
  readonly stateDir: string | undefined;
  readonly timeSkip: boolean;
  /** `--nats`: the node's cluster connection (without --exec, the node joins the cluster). */
  readonly nats?: NodeNatsOption | undefined;
  /** Joins the cluster of `nats` as this (named `node`). */
  readonly cluster?: ClusterSettings | undefined;
}

/**
 * `luact run [dir]`: boot, start the auto_start services and run until SIGINT/SIGTERM; or
 * `--exec ENTRY [args]`: the same boot, one entry run to its end, and shutdown.
 */
export async function run(
  dir: string,
  options: RunOptions,
  io: CliIO,
  stops: ExecStops,
): Promise<number> {
  // A serving node its cluster expelled starts again, and joins as a new incarnation.
  for (;;) {
    const ended = await runOnce(dir, options, io, stops);
    if (ended !== REJOIN) return ended;
    io.stderr.write(`luact: node "${options.node}" rejoins the cluster as a new incarnation\n`);
  }
}

/** What `serve` answers when the cluster expelled the node: start it again. */
const REJOIN = 'rejoin';

async function runOnce(
  dir: string,
  options: RunOptions,
  io: CliIO,
  stops: ExecStops,
): Promise<number | typeof REJOIN> {
  let consoleRun = false;
  const node = await bootNode(
    dir,
    {
      verbose: options.verbose,
      stateDir: options.stateDir,
      timeSkip: options.timeSkip,
      nats: options.nats,
      console: cliConsole(io, options.args),
      quietLogs: () => consoleRun,
      ...(options.cluster ? { cluster: options.cluster } : {}),
    },
    io,
  );
  if (!node) return ExitCode.failure;
  if (options.exec !== undefined) {
    // A mistyped entry fails before any service starts.
    const host = node.whyNotRunnable(options.exec) ?? node.consoleHost(options.exec, options.host);
    if (host instanceof LuactError) {
      io.stdout.write(formatOutcome({ ok: false, error: host }, options, io));
      io.stderr.write(`luact: ${host.message}\n`);
      await node.stop();
      return ExitCode.failure;
    }
    consoleRun = host !== undefined && node.registry.snapshot.get(host)?.kind === 'terminal.host';
    return execOnce(
      node,
      {
        entry: options.exec,
        args: options.args,
        timeoutMs: options.timeoutMs ?? (consoleRun ? 0 : DEFAULT_EXEC_TIMEOUT_MS),
        keepWorkflow: options.keepWorkflow,
        json: options.json,
        host,
        console: consoleRun,
      },
      io,
      stops,
    );
  }
  return serve(node, options, io, stops.signals);
}

/**
 * Runs a node until a stop signal, then stops its services dependents-first within their
 * stop timeouts. A second signal exits at once. Exit 0 only for a clean stop.
 */
async function serve(
  node: Node,
  options: RunOptions,
  io: CliIO,
  signals: SignalSource,
): Promise<ExitCode | typeof REJOIN> {
  let stopRequested: () => void = () => {};
  const stopRequest = new Promise<string>((resolve) => {
    stopRequested = () => resolve(STOP_COMMAND);
  });
  try {
    const socket =
      options.control !== undefined
        ? path.resolve(io.cwd, options.control)
        : await defaultControlSocket(node.dir, options.node, { env: io.env, create: true });
    await node.serveControl(socket, options.node, { onStopRequest: () => stopRequested() });
  } catch (error) {
    io.stderr.write(`luact: cannot serve the control socket: ${LuactError.from(error).message}\n`);
    await node.stop();
    return ExitCode.failure;
  }
  if (options.watch) node.watch((result) => io.stderr.write(reloadLines(result, io.cwd)));
  // A signal (or `luact stop`) while services start stops the node just the same.
  const halted = node.halted.then((error) => `${HALTED}${error.message}`);
  const stopSignal = Promise.race([signals.next(), stopRequest, halted]);
  const started = await Promise.race([startServices(node, 0), stopSignal]);
  if (typeof started !== 'string') {
    for (const problem of started) io.stderr.write(`luact: ${problem.message}\n`);
    const running = node.services.list().filter((status) => status.state === 'running').length;
    const hosts = (['process.host', 'terminal.host'] as const)
      .map((kind) => node.registry.snapshot.ofKind(kind).length)
      .reduce((sum, n) => sum + n, 0);
    const nodeFlag = options.node === DEFAULT_NODE_NAME ? '' : ` --node ${options.node}`;
    io.stderr.write(
      `luact: node "${options.node}" running ${node.dir}: ${count(hosts, 'host')}, ` +
        `${running} of ${count(node.services.list().length, 'service')} running; ` +
        `inspect with: luact services ${displayPath(node.dir, io.cwd)}${nodeFlag}; stop with Ctrl+C or luact stop\n`,
    );
  }
  const signal = await stopSignal;
  io.stderr.write(
    signal === STOP_COMMAND
      ? 'luact: asked to stop by luact stop, stopping services (a signal exits at once)\n'
      : signal.startsWith(HALTED)
        ? `luact: ${signal.slice(HALTED.length)}; stopping\n`
        : `luact: ${signal}, stopping services (send it again to exit at once)\n`,
  );
  const outcome = await Promise.race([node.stop(), signals.next()]);
  if (typeof outcome === 'string') {
    io.stderr.write(`luact: ${outcome} again, exiting without waiting for services\n`);
    return ExitCode.failure;
  }
  if (signal.startsWith(HALTED)) return REJOIN;
  if (!reportStop(outcome, io, { failing: true })) return ExitCode.failure;
  io.stderr.write('luact: stopped cleanly\n');
  return ExitCode.ok;
}

/**
 * The console terminal hosts give their processes: the command's stdin, stdout and stderr
 * and the arguments after the `--exec` entry.
 */
function cliConsole(io: CliIO, args: readonly string[]): TerminalConsole {
  return {
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout,
    stderr: io.stderr,
    args,
  };
}

/** Marks the reason a node stopped on its own account (see Node.halted). */
const HALTED = 'halted: ';

function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/**
 * What a reload did: the changed entries and the warnings of the new files, or every problem
 * that made it refuse them.
 */
function reloadLines(result: Awaited<ReturnType<Node['reload']>>, cwd: string): string {
  if (result.ok) {
    const warnings = result.warnings.map((d) => `${formatDiagnostic(d, cwd)}\n`).join('');
    return `${warnings}luact: reloaded (${count(result.changed, 'entry', 'entries')} changed)\n`;
  }
  const problems = result.diagnostics.filter((d) => d.severity === 'error');
  return `${result.diagnostics.map((d) => `${formatDiagnostic(d, cwd)}\n`).join('')}luact: reload refused: ${count(problems.length, 'problem')}, keeping the running version\n`;
}

/** The signals a running node waits for (SIGINT/SIGTERM/SIGHUP), one at a time. */
export interface SignalSource {
  next(): Promise<string>;
}

/** What stops a node besides signals: `luact stop` on its control socket. */
const STOP_COMMAND = 'luact stop';

/** How often a node started through npm checks that its parent is still there. */
const PARENT_CHECK_MS = 500;

export function processSignals(): SignalSource {
  const waiting: ((signal: string) => void)[] = [];
  const received: string[] = [];
  const deliver = (name: string) => {
    const resolve = waiting.shift();
    if (resolve) resolve(name);
    else received.push(name);
  };
  for (const name of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(name, () => deliver(name));
  // Under `npx luact` a signal sent to npm reaches npm and the shell it runs us in, not us:
  // they end and leave this node orphaned. The end of the parent is taken as a SIGTERM.
  if (startedByNpm(process.env)) {
    const parent = process.ppid;
    const check = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(check);
      deliver('SIGTERM (its parent, npm, ended)');
    }, PARENT_CHECK_MS);
    check.unref();
  }
  return {
    next: () => {
      const early = received.shift();
      return early !== undefined
        ? Promise.resolve(early)
        : new Promise((resolve) => waiting.push(resolve));
    },
  };
}

/** `npx`/`npm exec`/`npm run` set these for the commands they start. */
function startedByNpm(env: NodeJS.ProcessEnv): boolean {
  return env.npm_command !== undefined || env.npm_lifecycle_event !== undefined;
}
