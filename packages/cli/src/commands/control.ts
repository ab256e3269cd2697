import { realpathSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { LuactError } from '@luact/core';
import {
  controlSocketDir,
  defaultControlSocket,
  type NodeView,
  queryControl,
} from '@luact/runtime';
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
  const appDir = canonical(path.resolve(io.cwd, target.dir));
  try {
    const socket = await socketOf(target, io);
    const answer = (await queryControl(socket, route, request)) as Answer;
    io.stdout.write(target.json ? `${JSON.stringify(answer, null, 2)}\n` : render(answer));
    return ExitCode.ok;
  } catch (error) {
    const failure = LuactError.from(error);
    io.stderr.write(
      failure.kind === 'UNAVAILABLE' && target.control === undefined
        ? await noNodeMessage(target, appDir, io)
        : `luact: ${failure.message}\n`,
    );
    return ExitCode.failure;
  }
}

/** The control socket of the node a command asks. */
export async function socketOf(target: NodeTarget, io: CliIO): Promise<string> {
  return target.control !== undefined
    ? path.resolve(io.cwd, target.control)
    : defaultControlSocket(canonical(path.resolve(io.cwd, target.dir)), target.node, {
        env: io.env,
        create: false,
      });
}

/**
 * Why no node answered for the directory: if nodes of this user run elsewhere, or under
 * another name for this directory, the message names them and the flags that reach them.
 */
async function noNodeMessage(target: NodeTarget, appDir: string, io: CliIO): Promise<string> {
  const shown = path.relative(io.cwd, appDir) || '.';
  const running = await runningNodes(io.env);
  const here = running.filter((node) => node.dir === appDir);
  if (here.length > 0) {
    const names = here.map((node) => `--node ${node.name}`).join(' or ');
    return `luact: no node "${target.node}" is running for ${shown}, but ${here.length === 1 ? 'one is' : 'some are'} under another name: add ${names}\n`;
  }
  const elsewhere =
    running.length > 0
      ? `; running: ${running.map((node) => `"${node.name}" for ${path.relative(io.cwd, node.dir) || '.'}`).join(', ')}`
      : '';
  return `luact: no node "${target.node}" is running for ${shown} (start one with: luact run ${target.dir})${elsewhere}\n`;
}

/** The nodes of this user that answer on their default control sockets. */
async function runningNodes(env: CliIO['env']): Promise<NodeView[]> {
  const dir = controlSocketDir({ env });
  const sockets = await readdir(dir).catch(() => [] as string[]);
  const views = await Promise.all(
    sockets
      .filter((name) => name.endsWith('.sock'))
      .map((name) =>
        queryControl(path.join(dir, name), '/node', { timeoutMs: 1_000 }).then(
          (view) => view as NodeView,
          () => undefined,
        ),
      ),
  );
  return views.filter((view): view is NodeView => view !== undefined);
}

/** The directory as the node names it (symbolic links resolved), if it exists. */
function canonical(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
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
