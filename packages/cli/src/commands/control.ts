import path from 'node:path';
import { LuactError } from '@luact/core';
import { defaultControlSocket, queryControl } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';

/** How a command finds the running node it asks. */
export interface NodeTarget {
  /** The application directory the node runs. */
  readonly dir: string;
  /** The node's name (`luact run --node`). */
  readonly node: string;
  /** An explicit control socket, instead of the one derived from the directory and node. */
  readonly control: string | undefined;
  readonly json: boolean;
}

/**
 * Asks the running node for `route` and prints its answer: as JSON with `--json`, else as
 * `render` lays it out. When no node runs there, says so and how to start one; a socket (or
 * its directory) that is not the user's is refused before connecting, saying whose it is.
 */
export async function askNode<Answer>(
  target: NodeTarget,
  route: string,
  request: { readonly query?: Record<string, string>; readonly body?: unknown },
  io: CliIO,
  render: (answer: Answer) => string,
): Promise<ExitCode> {
  const appDir = path.resolve(io.cwd, target.dir);
  try {
    const socket =
      target.control !== undefined
        ? path.resolve(io.cwd, target.control)
        : await defaultControlSocket(appDir, target.node, { env: io.env, create: false });
    const answer = (await queryControl(socket, route, request)) as Answer;
    io.stdout.write(target.json ? `${JSON.stringify(answer, null, 2)}\n` : render(answer));
    return ExitCode.ok;
  } catch (error) {
    const failure = LuactError.from(error);
    io.stderr.write(
      failure.kind === 'UNAVAILABLE' && target.control === undefined
        ? `luact: no node "${target.node}" is running for ${path.relative(io.cwd, appDir) || '.'} (start one with: luact run ${target.dir})\n`
        : `luact: ${failure.message}\n`,
    );
    return ExitCode.failure;
  }
}

/** Left-aligned columns two spaces apart, or a note when there are no rows. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '(none)\n';
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}
