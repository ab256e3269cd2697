import { LuactError } from '@luact/core';
import { parseStatuses, type WorkflowView } from '@luact/runtime';
import { type CliIO, ExitCode } from '../io.js';
import { argumentValue } from './boot.js';
import { askNode, type NodeTarget, table } from './control.js';

/** Which runs `luact workflow list` shows. */
export interface ListFilter {
  /** Status names, each possibly a comma-separated list (`--status` repeated). */
  readonly statuses: readonly string[];
  readonly entry: string | undefined;
  readonly limit: number;
}

export interface ListAnswer {
  readonly workflows: readonly WorkflowView[];
  readonly total: number;
  readonly more: number;
}

/**
 * `luact workflow list`: the runs the node's journals hold, running and ended (also in earlier
 * lives of the node), newest first, filtered by status and entry, at most `limit` of them.
 */
export function listWorkflows(
  target: NodeTarget,
  filter: ListFilter,
  io: CliIO,
): Promise<ExitCode> {
  const status = statusOrSay(filter, io);
  if (status === undefined) return Promise.resolve(ExitCode.usage);
  return askNode(
    target,
    '/workflows',
    { query: listQuery(filter, status) },
    io,
    (answer: ListAnswer) => {
      const rows = workflowTable(answer.workflows);
      if (answer.more === 0) return rows;
      const shown = answer.workflows.length;
      return `${rows}${shown} of ${answer.total} shown, newest first; ${answer.more} more (raise --limit, or filter with --status or --entry)\n`;
    },
  );
}

/** `statusQuery`, or undefined after saying on stderr what is wrong with --status. */
export function statusOrSay(filter: ListFilter, io: CliIO): string | undefined {
  try {
    return statusQuery(filter);
  } catch (error) {
    io.stderr.write(`luact: --status: ${LuactError.from(error).message}\n`);
    return undefined;
  }
}

/** The `--status` filter as the control endpoint takes it; throws INVALID naming a bad one. */
export function statusQuery(filter: ListFilter): string {
  return parseStatuses(filter.statuses.join(',')).join(',');
}

/** The query of a `/workflows` request. */
export function listQuery(filter: ListFilter, status: string): Record<string, string> {
  return {
    limit: String(filter.limit),
    ...(status !== '' ? { status } : {}),
    ...(filter.entry !== undefined ? { entry: filter.entry } : {}),
  };
}

/** Workflow runs as a table; with `nodes`, a NODE column says which nodes listed each. */
export function workflowTable(
  workflows: readonly WorkflowView[],
  nodes?: (workflow: WorkflowView, index: number) => string,
): string {
  return table(
    [
      'WORKFLOW',
      'RUN',
      'ENTRY',
      'STATUS',
      'STARTED',
      'CLOSED',
      'HOST',
      ...(nodes ? ['NODE'] : []),
      'PROBLEM',
    ],
    workflows.map((w, i) => [
      w.workflow,
      String(w.run),
      w.entry ?? '-',
      w.status,
      shortTime(w.started_at),
      shortTime(w.closed_at),
      w.host,
      ...(nodes ? [nodes(w, i)] : []),
      w.problem ?? '',
    ]),
  );
}

/** An ISO time to the second, as the table shows it. */
function shortTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace(/\.\d+Z$/, 'Z');
}

/** `luact workflow show ID`: how it started, where it stands, how it ended. */
export function showWorkflow(target: NodeTarget, id: string, io: CliIO): Promise<ExitCode> {
  return askNode(target, '/workflow', { query: { id } }, io, shownWorkflow);
}

/** A workflow as `/workflow` answers it, one `key: value` line per fact. */
export function shownWorkflow(shown: Record<string, unknown>): string {
  const started = (shown.started ?? {}) as Record<string, unknown>;
  const ended = shown.ended as Record<string, unknown> | undefined;
  const lines: [string, unknown][] = [
    ['workflow', shown.workflow],
    ['pid', shown.pid],
    ['status', shown.status],
    ['entry', shown.entry],
    ['run', shown.run],
    ['host', shown.host],
    ['started', time(started.at)],
    ['input', started.args],
    ['code', started.code],
    ...(started.parent ? ([['parent', started.parent]] as [string, unknown][]) : []),
    ['events', shown.history_length],
    ...(ended
      ? ([
          ['ended', `${ended.t} at ${time(ended.at)}`],
          ...(ended.t === 'completed' ? [['result', ended.value]] : []),
          ...(ended.t === 'failed' ? [['error', ended.error]] : []),
          ...(ended.t === 'terminated' ? [['reason', ended.reason]] : []),
        ] as [string, unknown][])
      : []),
    ...(shown.problem ? ([['problem', shown.problem]] as [string, unknown][]) : []),
  ];
  return lines
    .map(([key, value]) => `${`${key}:`.padEnd(9)} ${text(value)}`)
    .join('\n')
    .concat('\n');
}

/** `luact workflow history ID`: its journal, one record a line. */
export function workflowHistory(target: NodeTarget, id: string, io: CliIO): Promise<ExitCode> {
  return askNode(
    target,
    '/workflow/history',
    { query: { id } },
    io,
    (records: Record<string, unknown>[]) =>
      records
        .map((record, position) => {
          const { t, at, ...rest } = record;
          return `${String(position).padStart(4)}  ${time(at)}  ${String(t).padEnd(10)} ${text(rest)}`;
        })
        .join('\n')
        .concat('\n'),
  );
}

/** `luact workflow start ENTRY [ARGS…]`: starts a workflow (arguments as JSON or text). */
export function startWorkflow(
  target: NodeTarget,
  entry: string,
  args: readonly string[],
  options: { readonly id: string | undefined; readonly host: string | undefined },
  io: CliIO,
): Promise<ExitCode> {
  const body = {
    entry,
    args: args.map(argumentValue),
    ...(options.id !== undefined ? { id: options.id } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  };
  return askNode(
    target,
    '/workflow/start',
    { body },
    io,
    (answer: { pid: string }) => `${answer.pid}\n`,
  );
}

/** `luact workflow signal ID TOPIC [PAYLOAD]`: a durable message (payload as JSON or text). */
export function signalWorkflow(
  target: NodeTarget,
  id: string,
  topic: string,
  payload: string | undefined,
  io: CliIO,
): Promise<ExitCode> {
  const values = payload === undefined ? [] : [argumentValue(payload)];
  return askNode(
    target,
    '/workflow/signal',
    { body: { id, topic, values } },
    io,
    () => `signal "${topic}" journaled for ${id}\n`,
  );
}

export function cancelWorkflow(
  target: NodeTarget,
  id: string,
  reason: string | undefined,
  io: CliIO,
): Promise<ExitCode> {
  return askNode(
    target,
    '/workflow/cancel',
    { body: { id, ...(reason !== undefined ? { reason } : {}) } },
    io,
    () => `cancel journaled for ${id}\n`,
  );
}

export function terminateWorkflow(target: NodeTarget, id: string, io: CliIO): Promise<ExitCode> {
  return askNode(target, '/workflow/terminate', { body: { id } }, io, () => `${id} terminated\n`);
}

function time(at: unknown): string {
  return typeof at === 'number' ? new Date(at).toISOString() : '-';
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
