import { LuactError } from '@luact/core';
import type { CallSite, Command } from './records.js';

/** Where a replay issued something else than the journal recorded. */
export interface Divergence {
  /** Position of the task record in the run's journal. */
  readonly position: number;
  readonly event: number;
  /** Index of the command within the task. */
  readonly index: number;
  readonly recorded: Command | undefined;
  readonly issued: Command | undefined;
}

/** The first command where `issued` differs from `recorded` in kind or target, if any. */
export function firstDifference(
  recorded: readonly Command[],
  issued: readonly Command[],
): { index: number; recorded: Command | undefined; issued: Command | undefined } | undefined {
  const length = Math.max(recorded.length, issued.length);
  for (let index = 0; index < length; index++) {
    const was = recorded[index];
    const now = issued[index];
    if (!was || !now || !sameCommand(was, now)) return { index, recorded: was, issued: now };
  }
  return undefined;
}

/**
 * Whether a replayed command is the recorded one: the same kind aimed at the same thing.
 * Arguments and durations are not compared — code may compute them differently as long as
 * it asks for the same things in the same order (and the recorded results are what it gets).
 */
export function sameCommand(a: Command, b: Command): boolean {
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'activity':
      return a.entry === (b as typeof a).entry;
    case 'send':
      return a.to === (b as typeof a).to && a.topic === (b as typeof a).topic;
    case 'child':
      return a.entry === (b as typeof a).entry && a.workflow === (b as typeof a).workflow;
    case 'cancel':
    case 'terminate':
    case 'monitor':
      return a.to === (b as typeof a).to;
    case 'version':
      return a.change === (b as typeof a).change;
    case 'side_effect':
      return a.what === (b as typeof a).what;
    case 'cancel_activity':
    case 'cancel_timer':
      return a.target === (b as typeof a).target;
    case 'timer':
      return true;
    default: {
      const unknown: never = a;
      throw new Error(`unknown command ${JSON.stringify(unknown)}`);
    }
  }
}

/** The error a blocked workflow reports: both commands, both call sites, the journal position. */
export function divergenceError(workflow: string, divergence: Divergence): LuactError {
  const recorded = divergence.recorded
    ? `${describe(divergence.recorded)}${at(divergence.recorded.site)}`
    : 'nothing more';
  const issued = divergence.issued
    ? `${describe(divergence.issued)}${at(divergence.issued.site)}`
    : 'nothing more';
  return new LuactError(
    'CONFLICT',
    `workflow ${workflow} is blocked: its code no longer replays its journal. At journal position ${divergence.position} (command ${divergence.index + 1} after event ${divergence.event}) the journal has ${recorded}, but the code now issues ${issued}. Restore the old behaviour (or branch with workflow.version) and restart the node to resume it.`,
    {
      retryable: false,
      details: {
        workflow,
        position: divergence.position,
        event: divergence.event,
        command: divergence.index + 1,
        ...(divergence.recorded ? { recorded: summary(divergence.recorded) } : {}),
        ...(divergence.issued ? { issued: summary(divergence.issued) } : {}),
      },
    },
  );
}

function describe(command: Command): string {
  switch (command.k) {
    case 'activity':
      return `a call of ${command.entry}`;
    case 'cancel_activity':
      return `the cancel of call #${command.target}`;
    case 'timer':
      return 'a timer';
    case 'cancel_timer':
      return `the stop of timer #${command.target}`;
    case 'send':
      return `a message "${command.topic}" to ${command.to}`;
    case 'child':
      return `the start of child workflow ${command.workflow} (${command.entry})`;
    case 'cancel':
      return `a cancel of ${command.to}`;
    case 'terminate':
      return `a terminate of ${command.to}`;
    case 'monitor':
      return `a monitor of ${command.to}`;
    case 'version':
      return `version marker "${command.change}" = ${command.version}`;
    case 'side_effect':
      return `a side effect (${command.what})`;
    default: {
      const unknown: never = command;
      return JSON.stringify(unknown);
    }
  }
}

function at(site: CallSite | undefined): string {
  return site ? ` at ${site.file}:${site.line}` : ' (call site unknown: a tail call)';
}

function summary(command: Command): Record<string, unknown> {
  return {
    kind: command.k,
    what: describe(command),
    ...(command.site ? { file: command.site.file, line: command.site.line } : {}),
  };
}
