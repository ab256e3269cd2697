import { LuactError } from '@luact/core';
import {
  DEFAULT_WORKFLOW_LIST_LIMIT,
  parseStatuses,
  type WorkflowQuery,
} from '../workflow-list.js';
import type { NodeWorkflows } from '../workflows.js';
import type { ControlRoutes } from './server.js';
import { workflowView } from './views.js';

/**
 * The control endpoint's workflow operations (`luact workflow …`): a workflow is named by its
 * ID (or its PID when several hosts know the same ID).
 */
export function workflowRoutes(workflows: NodeWorkflows): ControlRoutes {
  return {
    '/workflows': {
      method: 'GET',
      handle: async (input) => {
        const page = await workflows.listRuns(listQuery(input));
        return {
          workflows: page.runs.map(workflowView),
          total: page.total,
          more: page.total - page.runs.length,
        };
      },
    },
    '/workflow': { method: 'GET', handle: (input) => workflows.show(idOf(input)) },
    '/workflow/history': { method: 'GET', handle: (input) => workflows.history(idOf(input)) },
    '/workflow/start': {
      method: 'POST',
      handle: async (input) => {
        const entry = input.entry;
        if (typeof entry !== 'string' || entry === '')
          throw invalid('"entry" must name a workflow.lua entry');
        const args = input.args === undefined ? [] : input.args;
        if (!Array.isArray(args)) throw invalid('"args" must be a list of argument values');
        const pid = await workflows.start(entry, args, {
          ...(optionalText(input.id, 'id') !== undefined ? { id: input.id as string } : {}),
          ...(optionalText(input.host, 'host') !== undefined ? { host: input.host as string } : {}),
        });
        return { pid };
      },
    },
    '/workflow/signal': {
      method: 'POST',
      handle: async (input) => {
        const topic = input.topic;
        if (typeof topic !== 'string' || topic === '' || topic.startsWith('@'))
          throw invalid('"topic" must be a topic string (not starting with @)');
        const values = input.values === undefined ? [] : input.values;
        if (!Array.isArray(values)) throw invalid('"values" must be a list of payload values');
        await workflows.signal(idOf(input), topic, values);
        return { accepted: true };
      },
    },
    '/workflow/cancel': {
      method: 'POST',
      handle: async (input) => {
        await workflows.cancel(idOf(input), optionalText(input.reason, 'reason'));
        return { accepted: true };
      },
    },
    '/workflow/terminate': {
      method: 'POST',
      handle: async (input) => {
        await workflows.terminate(idOf(input), optionalText(input.reason, 'reason'));
        return { accepted: true };
      },
    },
  };
}

/** `status` (comma-separated), `entry` and `limit` of a list request, checked. */
function listQuery(input: Readonly<Record<string, unknown>>): WorkflowQuery {
  const status = optionalText(input.status, 'status');
  const entry = optionalText(input.entry, 'entry');
  const limitText = input.limit ?? String(DEFAULT_WORKFLOW_LIST_LIMIT);
  const limit = Number(limitText);
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw invalid(`"limit" must be a positive integer, got ${JSON.stringify(limitText)}`);
  return {
    limit,
    ...(status !== undefined ? { statuses: parseStatuses(status) } : {}),
    ...(entry !== undefined && entry !== '' ? { entry } : {}),
  };
}

function idOf(input: Readonly<Record<string, unknown>>): string {
  const id = input.id;
  if (typeof id !== 'string' || id === '')
    throw invalid('"id" must name a workflow (its ID or PID)');
  return id;
}

function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`"${name}" must be text`);
  return value;
}

function invalid(message: string): LuactError {
  return new LuactError('INVALID', message, { retryable: false });
}
