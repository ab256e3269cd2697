import { type CliIO, ExitCode } from '../io.js';

/** The capability a command needs and the issue that brings it. */
export interface PendingEngine {
  readonly engine: string;
  readonly issue: number;
}

/**
 * Commands whose engine is not built yet say so plainly and fail, rather than print anything
 * that could be mistaken for real output.
 */
export function notAvailable(command: string, pending: PendingEngine, io: CliIO): ExitCode {
  io.stderr.write(
    `luact ${command}: not available yet — it needs the ${pending.engine}, which arrives with issue #${pending.issue}.\n` +
      'Validate an application with `luact lint [dir]` meanwhile.\n',
  );
  return ExitCode.failure;
}
