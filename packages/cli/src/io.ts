import type { TerminalConsole } from '@luact/runtime';

/** Where a command reads its surroundings and writes its output; tests pass their own. */
export interface CliIO {
  /** `isTTY`: a person reads it (readable text); else a program does (JSON). */
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  /** What processes on a terminal host read (default: this process's stdin). */
  readonly stdin?: TerminalConsole['stdin'];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The stop signals `luact run` waits for (default: SIGINT and SIGTERM of this process). */
  readonly signals?: { next(): Promise<string> };
  /**
   * Calls the listener when the node has nothing left to do (default: Node.onIdle), so
   * `luact run --exec` can report an entry that can never finish; returns how to stop.
   */
  readonly onIdle?: (listener: () => void) => () => void;
}

export interface OutputStream {
  /** Text from luact; bytes too from a console program (`io.write` on a terminal host). */
  write(chunk: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}

/** The exit codes of every luact command. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
