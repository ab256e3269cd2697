import { LuactError } from '@luact/core';
import type { Node } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { argumentValue, bootNode } from './boot.js';

export interface RunOptions {
  readonly exec: string | undefined;
  readonly args: readonly string[];
  readonly watch: boolean;
  readonly verbose: boolean;
}

/** `luact run [dir]`: boot and run until a signal, or `--exec ENTRY [args]` once. */
export async function run(
  dir: string,
  options: RunOptions,
  io: CliIO,
  signals: SignalSource,
): Promise<ExitCode> {
  const node = await bootNode(dir, { verbose: options.verbose }, io);
  if (!node) return ExitCode.failure;
  if (options.exec !== undefined) return execOnce(node, options.exec, options.args, io);
  if (options.watch) {
    node.watch((result) => {
      io.stderr.write(
        result.ok
          ? `luact: reloaded (${result.changed} entries changed)\n`
          : `luact: reload refused: ${result.diagnostics.length} problem(s), keeping the running version\n`,
      );
    });
  }
  io.stderr.write(
    `luact: node running ${node.dir} (${node.system.hostIds().length} hosts); stop with Ctrl+C\n`,
  );
  const signal = await signals.next();
  io.stderr.write(`luact: ${signal}, stopping\n`);
  const stopped = node.stop().then(() => 'clean' as const);
  const forced = signals.next().then(() => 'forced' as const);
  const how = await Promise.race([stopped, forced]);
  return how === 'clean' ? ExitCode.ok : ExitCode.failure;
}

async function execOnce(
  node: Node,
  entry: string,
  args: readonly string[],
  io: CliIO,
): Promise<ExitCode> {
  try {
    const outcome = await node.run(entry, args.map(argumentValue));
    if (outcome.ok) {
      io.stdout.write(`${JSON.stringify({ ok: true, value: outcome.value ?? null }, jsonSafe)}\n`);
      return ExitCode.ok;
    }
    io.stdout.write(`${JSON.stringify({ ok: false, error: outcome.error.toData() }, jsonSafe)}\n`);
    return ExitCode.failure;
  } catch (error) {
    const failure = LuactError.from(error);
    io.stdout.write(`${JSON.stringify({ ok: false, error: failure.toData() })}\n`);
    io.stderr.write(`luact: ${failure.message}\n`);
    return ExitCode.failure;
  } finally {
    await node.stop();
  }
}

/** Bigints and bytes have no JSON form of their own. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
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
