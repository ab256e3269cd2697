import { LuactError } from '@luact/core';

/**
 * When appended records reach the disk:
 * - `always`: every append is fsynced (fdatasync) before it resolves; appends made while a
 *   sync is under way share the next one (group commit);
 * - `batch`: an append resolves once the OS has it (it survives the process being killed);
 *   the log is fsynced every `syncIntervalMs`, so a power loss can lose that window;
 * - `never`: the OS writes back when it likes.
 * Shutting the journal down fsyncs everything in every mode.
 */
export type FsyncPolicy = 'always' | 'batch' | 'never';

export const DEFAULT_SYNC_INTERVAL_MS = 100;

export function describeDurability(policy: FsyncPolicy, syncIntervalMs: number): string {
  switch (policy) {
    case 'always':
      return 'fsync=always (each append on disk before it resolves; appends made together share a sync)';
    case 'batch':
      return `fsync=batch (${syncIntervalMs} ms; survives a killed process, a power loss can lose the last ${syncIntervalMs} ms)`;
    case 'never':
      return 'fsync=never (survives a killed process; the OS decides when data reaches the disk)';
    default: {
      const unknown: never = policy;
      throw new LuactError('INVALID', `unknown fsync policy ${JSON.stringify(unknown)}`);
    }
  }
}
