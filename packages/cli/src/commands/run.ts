import path from 'node:path';
import { LuactError } from '@luact/core';
import { DEFAULT_NODE_NAME, defaultControlSocket, type Node } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { bootNode, reportStop } from './boot.js';
import { type ExecStops, execOnce } from './exec.js';

export interface RunOptions {
  readonly exec: string | undefined;
  readonly args: readonly string[];
  /** How long an `--exec` entry may run (0: no limit). */
  readonly timeoutMs: number;
  /** An `--exec` workflow ended early stays unfinished instead of terminated. */
  readonly keepWorkflow: boolean;
  readonly watch: boolean;
  readonly verbose: boolean;
  /** This node's name; with the directory it names the control socket. */
  readonly node: string;
  /** An explicit control socket path. */
  readonly control: string | undefined;
  readonly stateDir: string | undefined;
  readonly timeSkip: boolean;
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
): Promise<ExitCode> {
  const node = await bootNode(
    dir,
    { verbose: options.verbose, stateDir: options.stateDir, timeSkip: options.timeSkip },
    io,
  );
  if (!node) return ExitCode.failure;
  if (options.exec !== undefined) {
    return execOnce(
      node,
      {
        entry: options.exec,
        args: options.args,
        timeoutMs: options.timeoutMs,
        keepWorkflow: options.keepWorkflow,
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
): Promise<ExitCode> {
  try {
    const socket =
      options.control !== undefined
        ? path.resolve(io.cwd, options.control)
        : await defaultControlSocket(node.dir, options.node, { env: io.env, create: true });
    await node.serveControl(socket, options.node);
  } catch (error) {
    io.stderr.write(`luact: cannot serve the control socket: ${LuactError.from(error).message}\n`);
    await node.stop();
    return ExitCode.failure;
  }
  if (options.watch) node.watch((result) => io.stderr.write(reloadLine(result)));
  // A signal while services start stops the node just the same.
  const stopSignal = signals.next();
  const started = await Promise.race([node.startServices(), stopSignal]);
  if (typeof started !== 'string') {
    const running = started.filter((status) => status.state === 'running').length;
    const hosts = node.registry.snapshot.ofKind('process.host').length;
    const nodeFlag = options.node === DEFAULT_NODE_NAME ? '' : ` --node ${options.node}`;
    io.stderr.write(
      `luact: node "${options.node}" running ${node.dir}: ${count(hosts, 'host')}, ` +
        `${running} of ${count(node.services.list().length, 'service')} running; ` +
        `inspect with: luact services ${path.relative(io.cwd, node.dir) || '.'}${nodeFlag}; stop with Ctrl+C\n`,
    );
  }
  const signal = await stopSignal;
  io.stderr.write(`luact: ${signal}, stopping services (send it again to exit at once)\n`);
  const outcome = await Promise.race([node.stop(), signals.next()]);
  if (typeof outcome === 'string') {
    io.stderr.write(`luact: ${outcome} again, exiting without waiting for services\n`);
    return ExitCode.failure;
  }
  if (!reportStop(outcome, io)) return ExitCode.failure;
  io.stderr.write('luact: stopped cleanly\n');
  return ExitCode.ok;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function reloadLine(result: Awaited<ReturnType<Node['reload']>>): string {
  return result.ok
    ? `luact: reloaded (${result.changed} entries changed)\n`
    : `luact: reload refused: ${result.diagnostics.length} problem(s), keeping the running version\n`;
}

/** The signals a running node waits for (SIGINT/SIGTERM), one at a time. */
export interface SignalSource {
  next(): Promise<string>;
}

export function processSignals(): SignalSource {
  const waiting: ((signal: string) => void)[] = [];
  const received: string[] = [];
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      const resolve = waiting.shift();
      if (resolve) resolve(name);
      else received.push(name);
    });
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
