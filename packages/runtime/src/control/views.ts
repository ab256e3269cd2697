import type { Process } from '@luact/process';
import type { ServiceStatus } from '@luact/supervisor';
import type { NodeWorkflowSummary } from '../workflows.js';

/** One service as the control endpoint reports it. */
export interface ServiceView {
  readonly id: string;
  readonly state: string;
  readonly attempts: number;
  readonly last_error: string | null;
  /** ISO time it entered its state. */
  readonly since: string;
  /** Milliseconds it has been running; null unless running. */
  readonly uptime_ms: number | null;
  readonly waiting_for: readonly string[];
}

/** One process as the control endpoint reports it. */
export interface ProcessView {
  readonly pid: string;
  readonly entry: string;
  readonly host: string;
  readonly names: readonly string[];
  /** Messages and events delivered but not yet received. */
  readonly mailbox: number;
  /** What they weigh, as `max_mailbox_bytes` counts it. */
  readonly mailbox_bytes: number;
  readonly links: number;
  readonly monitors: number;
}

/** What a node says about itself. */
export interface NodeView {
  readonly name: string;
  readonly dir: string;
  /** The operating-system process ID of the node. */
  readonly os_pid: number;
  readonly started_at: string;
  readonly hosts: readonly string[];
}

/** One run of a workflow as the control endpoint reports it. */
export interface WorkflowView {
  readonly workflow: string;
  readonly run: number;
  readonly pid: string;
  readonly host: string;
  /** The workflow.lua entry; null when its journal cannot be read. */
  readonly entry: string | null;
  readonly status: string;
  /** ISO times (UTC, workflow time); null when not known or not ended. */
  readonly started_at: string | null;
  readonly closed_at: string | null;
  /** Why it is blocked or unreadable. */
  readonly problem: string | null;
}

export function workflowView(summary: NodeWorkflowSummary): WorkflowView {
  return {
    workflow: summary.workflow,
    run: summary.run,
    pid: summary.pid,
    host: summary.host,
    entry: summary.entry === '' ? null : summary.entry,
    status: summary.status,
    started_at: isoTime(summary.startedAt),
    closed_at: isoTime(summary.endedAt),
    problem: summary.problem ?? null,
  };
}

function isoTime(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export function serviceView(status: ServiceStatus, nowMs: number): ServiceView {
  return {
    id: status.id,
    state: status.state,
    attempts: status.attempts,
    last_error: status.lastError ?? null,
    since: new Date(status.since).toISOString(),
    uptime_ms: status.state === 'running' ? Math.max(0, nowMs - status.since) : null,
    waiting_for: status.waitingFor,
  };
}

export function processView(process: Process): ProcessView {
  const relations = process.existingRelations;
  const held = process.mailbox.held();
  return {
    pid: process.pid,
    entry: process.entry,
    host: process.host.id,
    names: relations ? [...relations.names] : [],
    mailbox: held.length,
    mailbox_bytes: held.bytes,
    links: relations?.links.size ?? 0,
    monitors: relations?.monitoring.size ?? 0,
  };
}
