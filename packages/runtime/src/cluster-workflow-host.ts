import { randomUUID } from 'node:crypto';
import { LuactError } from '@luact/core';
import type {
  Envelope,
  ExitOutcome,
  ExternalHost,
  ExternalSpawnRequest,
  Pid,
  Signal,
} from '@luact/process';
import {
  type CancelRequest,
  type StartRequest,
  startRequestOf,
  type WorkflowHost,
  type WorkflowStarter,
  workflowPid,
  workflowPidParts,
} from '@luact/workflow';
import type { ClusterWorkflows } from './cluster-workflows.js';

/**
 * A workflow host as the process system of a cluster node sees it: every start, message,
 * cancel, terminate and watch goes to the node that owns the workflow's partition — this one
 * (the local host) or another (a request on the workflow channel). The process system routes
 * `{host|id}` PIDs here as to any external host; this decides only local or forward.
 */
export class ClusterWorkflowHost implements ExternalHost, WorkflowStarter {
  constructor(
    /** The host that drives this node's share of the workflows. */
    readonly local: WorkflowHost,
    private readonly cluster: ClusterWorkflows,
  ) {}

  get id(): string {
    return this.local.id;
  }

  spawn(request: ExternalSpawnRequest): Promise<Pid> {
    return this.start(startRequestOf(request));
  }

  /**
   * Starts a workflow on the owner of its partition; resolves once the owner journaled it.
   * The ID is chosen here when the request has none (it decides the partition), and the
   * request carries a key, so a repeat after a lost answer finds the same run.
   */
  async start(request: StartRequest): Promise<Pid> {
    const workflow = request.workflow ?? randomUUID();
    const keyed = { ...request, workflow, key: request.key ?? this.cluster.newKey() };
    const pid = await this.cluster.toOwner(this.id, workflow, { op: 'start', request: keyed }, () =>
      this.local.start(keyed),
    );
    return pid as Pid;
  }

  /** A message, taken once by the owner however often it is repeated (its origin). */
  async send(envelope: Envelope): Promise<void> {
    const workflow = this.workflowOf(envelope.to);
    const keyed = { ...envelope, origin: envelope.origin ?? this.cluster.newKey() };
    await this.cluster.toOwner(
      this.id,
      workflow,
      {
        op: 'send',
        envelope: {
          to: keyed.to,
          topic: keyed.topic,
          payload: keyed.payload,
          origin: keyed.origin,
          ...(keyed.from !== undefined ? { from: keyed.from } : {}),
        },
      },
      () => this.local.send(keyed),
    );
  }

  async signal(signal: Extract<Signal, { kind: 'cancel' | 'terminate' }>): Promise<void> {
    if (signal.kind === 'terminate') {
      await this.terminateWorkflow(this.workflowOf(signal.to), 'terminated', signal.from);
      return;
    }
    await this.cancel(signal.to, { reason: signal.reason, from: signal.from });
  }

  /**
   * A CANCEL event for the workflow, journaled once by its owner: `origin` (a fresh key when
   * absent) makes repeats of one request count once.
   */
  async cancel(pid: string, cancel: CancelRequest): Promise<void> {
    const workflow = this.workflowOf(pid);
    const request = {
      origin: cancel.origin ?? this.cluster.newKey(),
      ...(cancel.reason !== undefined ? { reason: cancel.reason } : {}),
      ...(cancel.from !== undefined ? { from: cancel.from } : {}),
    };
    await this.cluster.toOwner(this.id, workflow, { op: 'cancel', pid, ...request }, () =>
      this.local.cancel(pid, request),
    );
  }

  /** Ends the workflow at once, on its owner; resolves once that is journaled. */
  async terminateWorkflow(workflow: string, reason: string, from?: string): Promise<void> {
    const pid = workflowPid(this.id, workflow);
    await this.cluster.toOwner(
      this.id,
      workflow,
      { op: 'terminate', pid, reason, ...(from !== undefined ? { from } : {}) },
      () => this.local.terminateWorkflow(workflow, reason, from),
    );
  }

  /**
   * `onExit` once the workflow ends, wherever it runs: the watch is registered with its
   * owner, and again with each new owner when the workflow moves.
   */
  watch(pid: Pid, onExit: (outcome: ExitOutcome) => void): Promise<void> {
    return this.cluster.watch(this.id, this.workflowOf(pid), pid, onExit);
  }

  /** The journal of the workflow's latest run, as its owner reads it. */
  async history(workflow: string): Promise<readonly unknown[]> {
    const records = await this.cluster.toOwner(this.id, workflow, { op: 'history' }, () =>
      this.local.history(workflow),
    );
    return records as readonly unknown[];
  }

  /** How long until the earliest timer of a run that waits only for timers (runs here only). */
  sleepingFor(pid: string): number | undefined {
    return this.local.sleepingFor(pid);
  }

  private workflowOf(pid: string): string {
    const parts = workflowPidParts(pid);
    if (!parts || parts.host !== this.id)
      throw new LuactError('NOT_FOUND', `no workflow ${pid}`, { retryable: false });
    return parts.workflow;
  }
}
