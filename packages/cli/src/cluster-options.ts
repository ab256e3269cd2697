import { parseDuration } from '@luact/core';
import type { ClusterSettings, PlacementRule } from '@luact/runtime';
import { type Command, InvalidArgumentError } from 'commander';

/** The flags of a command that joins a cluster (besides `--nats` and `--node`), as parsed. */
export interface ClusterFlags {
  readonly replicas?: number;
  readonly placement?: PlacementRule;
  /** `--down-after`, in milliseconds. */
  readonly downAfter?: number;
  /** `--send-timeout`, in milliseconds. */
  readonly sendTimeout?: number;
}

/** Adds the flags of `ClusterFlags` to a command that joins a cluster (`run`, `test`). */
export function withClusterOptions(command: Command): Command {
  return command
    .option(
      '--replicas <n>',
      'when the node joins a cluster: replicas of the cluster streams (1, or 3 on a NATS cluster; default 1)',
      replicaCount,
    )
    .option(
      '--placement <rule>',
      'when the node joins a cluster: where a spawn that names no node runs: local (here, the default) or spread (each to the next node of the cluster)',
      placementRule,
    )
    .option(
      '--down-after <duration>',
      `when the node joins a cluster: a node that has not beaten for this long is declared down (default 4s, from ${formatSeconds(MIN_DOWN_AFTER_MS)} to ${formatSeconds(MAX_DOWN_AFTER_MS)}); it beats every quarter of that, and pauses itself after 5/8 of it without an acknowledged beat`,
      downAfter,
    )
    .option(
      '--send-timeout <duration>',
      `when the node joins a cluster: how long a send to another node waits for JetStream to store it before it fails UNAVAILABLE (default 15s, at most ${formatSeconds(MAX_SEND_TIMEOUT_MS)}); longer rides out slower leader elections`,
      sendTimeout,
    );
}

/** The flags of `ClusterFlags` given, as typed (e.g. `--down-after`). */
export function givenClusterFlags(flags: ClusterFlags): string[] {
  const names: Record<keyof ClusterFlags, string> = {
    replicas: '--replicas',
    placement: '--placement',
    downAfter: '--down-after',
    sendTimeout: '--send-timeout',
  };
  return (Object.keys(names) as (keyof ClusterFlags)[])
    .filter((key) => flags[key] !== undefined)
    .map((key) => names[key]);
}

/** What the node joins the cluster as, named `name`, with what `flags` set. */
export function clusterSettings(name: string, flags: ClusterFlags): ClusterSettings {
  return {
    name,
    ...(flags.replicas !== undefined ? { replicas: flags.replicas } : {}),
    ...(flags.placement !== undefined ? { placement: flags.placement } : {}),
    ...(flags.downAfter !== undefined ? { liveness: livenessOf(flags.downAfter) } : {}),
    ...(flags.sendTimeout !== undefined ? { sendTimeoutMs: flags.sendTimeout } : {}),
  };
}

/**
 * One number sets the three timings in the defaults' proportions (1 s beats, fenced after
 * 2.5 s, down after 4 s): a member must pause itself before the others declare it down, and
 * miss several beats before either.
 */
function livenessOf(downAfterMs: number): NonNullable<ClusterSettings['liveness']> {
  return {
    heartbeatMs: Math.floor(downAfterMs / 4),
    fenceAfterMs: Math.floor((downAfterMs * 5) / 8),
    downAfterMs,
  };
}

const MIN_DOWN_AFTER_MS = 1_000;
const MAX_DOWN_AFTER_MS = 600_000;
/** Retries of a send must land inside JetStream's 2-minute duplicate window (MailTransport). */
const MAX_SEND_TIMEOUT_MS = 60_000;

function downAfter(text: string): number {
  return durationWithin(text, MIN_DOWN_AFTER_MS, MAX_DOWN_AFTER_MS);
}

function sendTimeout(text: string): number {
  return durationWithin(text, 1, MAX_SEND_TIMEOUT_MS);
}

function durationWithin(text: string, min: number, max: number): number {
  const parsed = parseDuration(text);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.error);
  const ms = Math.ceil(parsed.value);
  if (ms < min || ms > max)
    throw new InvalidArgumentError(
      `"${text}" is out of range: from ${formatSeconds(min)} to ${formatSeconds(max)}`,
    );
  return ms;
}

function formatSeconds(ms: number): string {
  return ms < 1_000 ? `${ms}ms` : `${ms / 1_000}s`;
}

function placementRule(value: string): PlacementRule {
  if (value === 'local' || value === 'spread') return value;
  throw new InvalidArgumentError('placement is local or spread');
}

/** `--replicas`: 1 to 5 replicas of a JetStream stream. */
function replicaCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 5)
    throw new InvalidArgumentError('replicas is a whole number from 1 to 5 (3 on a NATS cluster)');
  return n;
}
