import path from 'node:path';
import type { LogRecord } from '@luact/lua';
import { type Diagnostic, formatDiagnostic } from '@luact/registry';
import {
  ApplicationError,
  type ClusterSettings,
  Node,
  type NodeNatsOption,
  type StopResult,
  type TerminalConsole,
} from '@luact/runtime';
import type { CliIO } from '../io.js';
import { jsonLogRecord, renderLogRecord } from '../render.js';

export interface BootOptions {
  readonly verbose: boolean;
  /** Where workflow journals live (default: `<dir>/.luact`). */
  readonly stateDir?: string | undefined;
  readonly timeSkip?: boolean;
  /** Where Lua `print` goes: stdout, or stderr when stdout carries a machine-readable report. */
  readonly printTo?: 'stdout' | 'stderr';
  /** `--nats`: the node's cluster connection. */
  readonly nats?: NodeNatsOption | undefined;
  /** Joins the cluster on `nats` under this name. */
  readonly cluster?: ClusterSettings | undefined;
  /** The console of the node's terminal hosts (default: this process's stdio, no arguments). */
  readonly console?: TerminalConsole;
  /**
   * While it answers true, info records are dropped too (a console program owns the terminal,
   * as under Wippy's `run -x`); `verbose` still shows everything.
   */
  readonly quietLogs?: () => boolean;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/**
 * Starts a node for a command; when the application cannot start, prints every problem and
 * returns undefined. Lua `print` goes to stdout, logger records to stderr: readable lines on a
 * terminal, JSON lines otherwise.
 */
export async function bootNode(
  dir: string,
  options: BootOptions,
  io: CliIO,
): Promise<Node | undefined> {
  const threshold = () =>
    options.verbose ? LEVELS.debug : options.quietLogs?.() ? LEVELS.warn : LEVELS.info;
  let node: Node;
  try {
    node = await Node.start({
      dir: path.resolve(io.cwd, dir),
      env: io.env,
      ...(options.stateDir !== undefined
        ? { stateDir: path.resolve(io.cwd, options.stateDir) }
        : {}),
      ...(options.timeSkip ? { timeSkip: true } : {}),
      ...(options.nats !== undefined ? { nats: options.nats } : {}),
      ...(options.cluster !== undefined ? { cluster: options.cluster } : {}),
      ...(options.console !== undefined ? { console: options.console } : {}),
      // luact's own tests (the luact_test module); not documented for users.
      ...(io.env.LUACT_TEST_HOOKS === '1' ? { testHooks: true } : {}),
      print: (text) => (options.printTo === 'stderr' ? io.stderr : io.stdout).write(`${text}\n`),
      log: (record: LogRecord) => {
        if (LEVELS[record.level] < threshold()) return;
        const format = io.stderr.isTTY === true ? renderLogRecord : jsonLogRecord;
        io.stderr.write(`${format(record, new Date())}\n`);
      },
    });
  } catch (error) {
    if (!(error instanceof ApplicationError)) throw error;
    printDiagnostics(error.diagnostics, io);
    io.stderr.write(
      `luact: ${path.relative(io.cwd, path.resolve(io.cwd, dir)) || '.'} cannot start: ${error.message}\n`,
    );
    return undefined;
  }
  // The warnings `luact lint` shows are said at every start too: an ignored field is often
  // why a service never starts.
  printDiagnostics(
    node.warnings.filter((d) => d.severity === 'warning'),
    io,
  );
  return node;
}

function printDiagnostics(diagnostics: readonly Diagnostic[], io: CliIO): void {
  for (const diagnostic of diagnostics)
    io.stderr.write(`${formatDiagnostic(diagnostic, io.cwd)}\n`);
}

/**
 * Stops a node gracefully (services dependents-first) and returns whether that was clean.
 */
export async function shutDown(node: Node, io: CliIO): Promise<boolean> {
  return reportStop(await node.stop(), io);
}

/**
 * Names the services that were failing when the node stopped (with their last error) and those
 * that had to be terminated after their stop_timeout; true when none had to be.
 */
export function reportStop(
  stopped: StopResult,
  io: CliIO,
  options: { readonly failing?: boolean } = {},
): boolean {
  for (const service of options.failing ? stopped.services : []) {
    if (service.attempts === 0 || service.lastError === undefined) continue;
    io.stderr.write(
      `luact: service ${service.id} was failing when the node stopped: ${service.lastError} (${service.attempts} failed attempt${service.attempts === 1 ? '' : 's'} in a row)\n`,
    );
  }
  if (!stopped.clean) {
    io.stderr.write(
      `luact: stopped, but not cleanly: terminated after stop_timeout: ${stopped.terminated.join(', ')}\n`,
    );
  }
  return stopped.clean;
}

/** A command-line argument as a value: JSON when it parses, else the text itself. */
export function argumentValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
