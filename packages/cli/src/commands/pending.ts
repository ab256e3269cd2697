import { type CliIO, ExitCode } from '../io.js';

/** The capability a command needs, and when it comes: an issue number, or not scheduled yet. */
export interface PendingEngine {
  readonly engine: string;
  readonly issue: number | undefined;
}

/**
 * Commands whose engine is not built yet say so plainly and fail, rather than print anything
 * that could be mistaken for real output.
 */
export function notAvailable(command: string, pending: PendingEngine, io: CliIO): ExitCode {
  io.stderr.write(
    `luact ${command}: not available yet — it needs the ${pending.engine}, ${
      pending.issue === undefined
        ? 'which is not scheduled yet'
        : `which arrives with issue #${pending.issue}`
    }.\n`,
  );
  return ExitCode.failure;
}
