import { formatDuration, LuactError } from '@luact/core';
import { type Node, type RunOutcome, sortedKeys, toJsonText } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { renderOutcome } from '../render.js';
import { argumentValue, reportStop } from './boot.js';
import { consoleExitStatus } from './console-exit.js';
import type { SignalSource } from './run.js';
import { startServices } from './services-start.js';

/** `luact run --exec` without `--timeout`: long enough for a job, short of forever. */
export const DEFAULT_EXEC_TIMEOUT_MS = 5 * 60_000;

export interface ExecOptions {
  readonly entry: string;
  readonly args: readonly string[];
  /** How long the entry may run (0: no limit). */
  readonly timeoutMs: number;
  /** A workflow entry ended early stays unfinished in its journal instead of terminated. */
  readonly keepWorkflow: boolean;
  /** Print JSON even on a terminal. */
  readonly json: boolean;
  /** The host a process.lua entry runs on (default: the node's main host). */
  readonly host?: string | undefined;
  /**
   * The entry runs on a terminal.host and owns the console: its result is not printed as JSON
   * (unless `json`); it ends with an exit status as Wippy's terminal programs do.
   */
  readonly console?: boolean;
}

/** What, besides its time limit, ends an exec before its entry ends. */
export interface ExecStops {
  /** SIGINT/SIGTERM: the first ends the entry, a second during shutdown exits at once. */
  readonly signals: SignalSource;
  /**
   * Calls `listener` when nothing is left that could make progress (no timer, I/O or message
   * pending: the entry waits for what can never come); returns how to stop listening. Default:
   * the node's own watch over all of its threads (Node.onIdle).
   */
  readonly onIdle?: ((listener: () => void) => () => void) | undefined;
}

/**
 * Runs one entry to its end on a booted node (services started first) and prints
 * `{"ok":true,"value":…}` or `{"ok":false,"error":{…}}` on stdout (a console program's result
 * is its exit status instead: consoleExitStatus); then shuts the node down. The entry is
 * ended early by its time limit, a signal, or when it can never finish; a workflow it started
 * is then terminated unless `keepWorkflow`, and stderr says which.
 */
export async function execOnce(
  node: Node,
  options: ExecOptions,
  io: CliIO,
  stops: ExecStops,
): Promise<number> {
  const { entry } = options;
  const controller = new AbortController();
  const endEarly = (error: LuactError) => {
    if (!controller.signal.aborted) controller.abort(error);
  };
  const timer =
    options.timeoutMs > 0
      ? setTimeout(
          () =>
            endEarly(
              new LuactError(
                'TIMEOUT',
                `${entry} did not finish within ${formatDuration(options.timeoutMs)} (--timeout)`,
              ),
            ),
          options.timeoutMs,
        )
      : undefined;
  // Unreferenced: the limit must not hide an entry that nothing else keeps going (onIdle).
  timer?.unref();
  let signalled = false;
  const firstSignal = stops.signals.next();
  void firstSignal.then((name) => {
    signalled = true;
    endEarly(new LuactError('CANCELED', `${entry} was interrupted by ${name}`));
  });
  // Expelled from its cluster, the node must stop: the entry ends with it, saying why.
  void node.halted.then((why) =>
    endEarly(new LuactError('UNAVAILABLE', `${entry} ended with its node: ${why.message}`)),
  );
  const onIdle = stops.onIdle ?? ((listener: () => void) => node.onIdle(listener));
  const stopWatchingIdle = onIdle(() =>
    endEarly(
      new LuactError(
        'TIMEOUT',
        `${entry} can never finish: it waits for a message, a timer or I/O, and nothing is left that could wake it`,
        { details: { waiting_forever: true } },
      ),
    ),
  );
  let code: number;
  try {
    const outcome = await runEntry(node, options, controller.signal);
    if (options.console && !options.json) {
      code = consoleExitStatus(outcome, io);
    } else {
      io.stdout.write(formatOutcome(outcome, options, io));
      const servicesDown = !outcome.ok && outcome.error.details?.services !== undefined;
      if (!outcome.ok && (controller.signal.aborted || servicesDown))
        reportEarlyEnd(outcome.error, options, io);
      code = outcome.ok ? ExitCode.ok : ExitCode.failure;
    }
  } catch (error) {
    const failure = LuactError.from(error);
    io.stdout.write(formatOutcome({ ok: false, error: failure }, options, io));
    io.stderr.write(`luact: ${failure.message}\n`);
    code = ExitCode.failure;
  } finally {
    clearTimeout(timer);
    stopWatchingIdle();
  }
  return stopNode(node, stops, signalled, firstSignal, io, code);
}

/** Stops the node after the entry ended; a second signal meanwhile exits at once. */
async function stopNode(
  node: Node,
  stops: ExecStops,
  signalled: boolean,
  firstSignal: Promise<string>,
  io: CliIO,
  code: number,
): Promise<number> {
  const exitNow = signalled ? stops.signals.next() : firstSignal;
  const stopped = await Promise.race([node.stop(), exitNow]);
  if (typeof stopped === 'string') {
    io.stderr.write(`luact: ${stopped} again, exiting without waiting for services\n`);
    return ExitCode.failure;
  }
  reportStop(stopped, io);
  return code;
}

/**
 * The outcome as `{"ok":true,"value":…}` / `{"ok":false,"error":{…}}` (keys sorted) for
 * programs, or as readable lines when a person reads stdout and did not ask for JSON.
 */
export function formatOutcome(
  outcome: RunOutcome,
  options: { readonly json: boolean },
  io: CliIO,
): string {
  if (!options.json && io.stdout.isTTY === true) return renderOutcome(outcome);
  const data = outcome.ok ? { ok: true, value: outcome.value ?? null } : outcome;
  return `${toJsonText(sortedKeys(data))}\n`;
}

/** Says on stderr why the entry was ended, and how to end a workflow run left unfinished. */
function reportEarlyEnd(error: LuactError, options: ExecOptions, io: CliIO): void {
  io.stderr.write(`luact: ${error.message}\n`);
  const workflow = error.details?.workflow;
  if (options.keepWorkflow && typeof workflow === 'string') {
    io.stderr.write(
      `luact: (--keep-workflow) end it on a running node with: luact workflow terminate '${workflow}'\n`,
    );
  }
}

/** Starts the services, then runs the entry; either ends early when `signal` aborts. */
async function runEntry(
  node: Node,
  options: ExecOptions,
  signal: AbortSignal,
): Promise<RunOutcome> {
  const aborted = new Promise<LuactError>((resolve) => {
    if (signal.aborted) resolve(signal.reason as LuactError);
    else
      signal.addEventListener('abort', () => resolve(signal.reason as LuactError), { once: true });
  });
  const started = await Promise.race([startServices(node, 0), aborted]);
  if (started instanceof LuactError) return { ok: false, error: started };
  if (started.length > 0) {
    const problem = started.map((p) => p.message).join('; ');
    return {
      ok: false,
      error: new LuactError('UNAVAILABLE', `${options.entry} did not run: ${problem}`, {
        retryable: false,
        details: { services: started.map((p) => p.service) },
      }),
    };
  }
  return node.run(options.entry, options.args.map(argumentValue), {
    signal,
    keepWorkflow: options.keepWorkflow,
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
}
