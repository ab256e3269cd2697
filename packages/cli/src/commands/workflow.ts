import type { CliIO, ExitCode } from '../io.js';
import { argumentValue } from './boot.js';
import { askNode, type NodeTarget, table } from './control.js';
import { formatDuration } from './inspect.js';

interface Summary {
  readonly workflow: string;
  readonly pid: string;
  readonly host: string;
  readonly run: number;
  readonly entry: string;
  readonly status: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly problem?: string;
}

/** `luact workflow list`: every workflow the node's hosts know, with its status. */
export function listWorkflows(target: NodeTarget, io: CliIO): Promise<ExitCode> {
  return askNode(target, '/workflows', {}, io, (rows: Summary[]) =>
    table(
      ['WORKFLOW', 'STATUS', 'RUN', 'ENTRY', 'HOST', 'AGE', 'PROBLEM'],
      rows.map((w) => [
        w.workflow,
        w.status,
        String(w.run),
        w.entry,
        w.host,
        w.startedAt === undefined ? '-' : formatDuration(Date.now() - w.startedAt),
        w.problem ?? '',
      ]),
    ),
  );
}

/** `luact workflow show ID`: how it started, where it stands, how it ended. */
export function showWorkflow(target: NodeTarget, id: string, io: CliIO): Promise<ExitCode> {
  return askNode(target, '/workflow', { query: { id } }, io, (shown: Record<string, unknown>) => {
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
  });
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
