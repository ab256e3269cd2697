import type { InputStream } from './stdin-reader.js';

/** Where text written to a console goes (process.stdout, or a test's collector). */
export interface OutputStream {
  write(chunk: string | Uint8Array): unknown;
}

/**
 * The console the processes of a node's terminal hosts own: `io` reads `stdin`, writes
 * `stdout` and `stderr`, and answers `io.args()` with `args` (the command line after the entry
 * of `luact run --exec`). Raw mode needs `stdin` to be a TTY that can `setRawMode`.
 */
export interface TerminalConsole {
  readonly stdin: InputStream & {
    readonly isTTY?: boolean;
    setRawMode?(raw: boolean): unknown;
  };
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly args: readonly string[];
}

/** The console of this Node.js process, with the given command-line arguments. */
export function processConsole(args: readonly string[] = []): TerminalConsole {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, args };
}
