import type { HostLimits } from '@luact/process';

/** Limits of the node's own hosts (main and functions): the process.host defaults. */
export const DEFAULT_LIMITS: HostLimits = {
  max_processes: 100_000,
  max_mailbox: 10_000,
  max_message_size: 1_048_576,
  reductions: 10_000,
  max_memory: 256 * 1024 * 1024,
};
