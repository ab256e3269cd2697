import type { HostLimits } from '@luact/process';
import { DEFAULT_HOST_LIMITS } from '@luact/registry';

/** Limits of the node's own hosts (main and functions): the process.host defaults. */
export const DEFAULT_LIMITS: HostLimits = DEFAULT_HOST_LIMITS;
