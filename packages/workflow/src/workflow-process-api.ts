import {
  checkWorkflowId,
  type EntryId,
  LuactError,
  resolveReference,
  splitEntryId,
} from '@luact/core';
import { decodeValue, encodeValue, type LuaVm } from '@luact/lua';
import type { Answer, CallSite, LuaCall, LuaSpawn, Mailbox, ProcessApi } from '@luact/process';
import { withCallOptions } from './activity-options.js';
import type { ActivityOptions, Bytes, StartupMessage } from './records.js';
import { followBits, WorkflowRun } from './run.js';
import { workflowSpawnOptions } from './spawn-options.js';

/** What a workflow run's `process` and `funcs` need to know about the host it runs on. */
export interface WorkflowHostView {
  /** Whether an entry ID names a workflow host (children may only start there). */
  isWorkflowHost(id: string): boolean;
  /** The workflow host a task-queue name stands for (workflowHostOfQueue), if any. */
  hostOfQueue(name: string): string | undefined;
  /** Whether some entry of the registry has ID `id` (of any kind). */
  isEntry(id: string): boolean;
  /**
   * The options an activity of function entry `id` gets when the call sets none: its
   * `meta.options` over the defaults (a host may keep them per entry version).
   */
  activityDefaults(id: string): ActivityOptions;
}

/**
 * `ProcessApi` for workflow runs: each call becomes a command of the run, carried out once the
 * task that issued it is journaled (and replayed from the journal, never carried out again,
 * after a restart). Destinations are resolved when the command is carried out.
 */
export class WorkflowProcessApi implements ProcessApi<WorkflowRun> {
  private readonly references = new References();

  constructor(private readonly host: WorkflowHostView) {}

  actorOf(vm: LuaVm): WorkflowRun {
    const owner = vm.current?.group.owner;
    if (!(owner instanceof WorkflowRun)) throw new Error('only available inside a workflow');
    return owner;
  }

  pid(run: WorkflowRun): string {
    return run.pid;
  }

  entry(run: WorkflowRun): string {
    return run.started.entry;
  }

  mailbox(run: WorkflowRun): Mailbox {
    return run.mailbox;
  }

  /** None: a run journals what it receives, so all its mail comes through TypeScript. */
  directMail(): undefined {
    return undefined;
  }

  trapLinks(run: WorkflowRun): boolean {
    return run.trapLinks;
  }

  setTrapLinks(run: WorkflowRun, trap: boolean): void {
    run.trapLinks = trap;
  }

  send(run: WorkflowRun, to: string, topic: string, payload: Uint8Array, site: CallSite): Answer {
    run.issue({ k: 'send', to, topic, payload }, site);
    return true;
  }

  spawn(run: WorkflowRun, spawn: LuaSpawn, site: CallSite): Answer<string> {
    let host = this.references.resolve(run, spawn.host, 'host');
    if (!this.host.isWorkflowHost(host) && !spawn.host.includes(':'))
      host = this.host.hostOfQueue(spawn.host) ?? host;
    if (!this.host.isEntry(host)) {
      return new LuactError(
        'NOT_FOUND',
        `workflow host ${host} not found (no workflow.host entry with that ID or task queue)`,
        { retryable: false },
      );
    }
    if (!this.host.isWorkflowHost(host)) {
      return new LuactError(
        'INVALID',
        `a workflow starts child workflows on a workflow.host; ${host} is not one (call functions with funcs for other work)`,
        { retryable: false },
      );
    }
    const { id, conflict } = workflowSpawnOptions(spawn.options);
    const name = id ?? spawn.name;
    const messages: StartupMessage[] = spawn.messages.map(({ topic, payload }) => ({
      topic,
      from: run.pid,
      payload,
    }));
    return run.startChild(
      {
        k: 'child',
        entry: this.references.resolve(run, spawn.entry, 'entry'),
        host,
        args: spawn.args,
        context: encodedContext(spawn.context),
        messages,
        follow: childFollow(spawn),
        conflict,
      },
      name === undefined ? undefined : checkWorkflowId(name),
      spawn.resultChannel,
      site,
    );
  }

  cancel(run: WorkflowRun, to: string, reason: string | undefined, site: CallSite): Answer {
    run.issue({ k: 'cancel', to, ...(reason ? { reason } : {}) }, site);
    return true;
  }

  terminate(run: WorkflowRun, to: string, site: CallSite): Answer {
    run.issue({ k: 'terminate', to }, site);
    return true;
  }

  ended(): boolean {
    // A workflow's terminate of itself is a command like any other: the run ends once it is
    // carried out.
    return false;
  }

  monitor(run: WorkflowRun, to: string, site: CallSite): Answer {
    run.monitor(to, site);
    return true;
  }

  unmonitor(): Answer {
    // Not a command: the EXIT of a target the run monitored still arrives.
    return true;
  }

  link(): Answer {
    return notInWorkflows('process.link (use spawn_linked for child workflows)');
  }

  unlink(): Answer {
    return notInWorkflows('process.unlink');
  }

  register(): Answer {
    return notInWorkflows('process.registry (a workflow is found by its ID: use with_name)');
  }

  lookup(): Answer<string> {
    return notInWorkflows('process.registry.lookup');
  }

  unregister(): Answer {
    return notInWorkflows('process.registry.unregister');
  }

  /** Continue as new: the run ends and a new one starts with these arguments. */
  upgrade(run: WorkflowRun, requested: string | undefined, args: Uint8Array): Answer {
    const entry =
      requested === undefined
        ? run.started.entry
        : this.references.resolve(run, requested, 'entry');
    run.continueAsNew(entry, args);
    return true;
  }

  /** An activity: its handle is the command's sequence number. */
  call(run: WorkflowRun, call: LuaCall, site: CallSite): Answer<string> {
    const entry = this.references.resolve(run, call.entry, 'entry');
    const defaults = this.host.activityDefaults(entry);
    const seq = run.callActivity(
      {
        k: 'activity',
        entry,
        args: call.args,
        context:
          call.context === undefined
            ? run.started.context
            : { ...run.started.context, ...encodedContext(call.context) },
        options: call.options === undefined ? defaults : withCallOptions(defaults, call.options),
      },
      call.channel,
      site,
    );
    if (call.waits) run.awaitsActivity(seq);
    return String(seq);
  }

  cancelCall(run: WorkflowRun, handle: string, site: CallSite): boolean {
    return run.cancelActivity(Number(handle), site);
  }

  context(run: WorkflowRun, key: string): Uint8Array | undefined {
    return run.started.context[key];
  }

  contextValues(run: WorkflowRun): Record<string, unknown> {
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(run.started.context))
      values[key] = decodeValue(value);
    return values;
  }

  defer(): number {
    throw new Error('a workflow never waits for a host answer: its commands answer at once');
  }

  settle(): never {
    throw notInWorkflows('waiting for a host answer');
  }
}

/**
 * How a workflow follows a child it starts: a child it does not exec is always monitored (its
 * EXIT reaches the parent's events, as Temporal reports a child's end to its parent workflow).
 */
function childFollow(spawn: LuaSpawn): number {
  const exec = spawn.resultChannel !== undefined;
  return followBits({ monitor: spawn.follow.monitor || !exec, link: spawn.follow.link }, exec);
}

function notInWorkflows(what: string): LuactError {
  return new LuactError('INVALID', `${what} is not supported in workflow context`, {
    retryable: false,
  });
}

function encodedContext(
  values: Readonly<Record<string, unknown>> | undefined,
): Record<string, Bytes> {
  const context: Record<string, Bytes> = {};
  if (values && typeof values === 'object') {
    for (const [key, value] of Object.entries(values)) context[key] = encodeValue(value);
  }
  return context;
}

/**
 * Entry and host references as workflows write them, resolved against the workflow's
 * namespace, remembered per entry: workflows repeat the same few.
 */
class References {
  private readonly resolved = new Map<string, Map<string, string>>();

  resolve(run: WorkflowRun, reference: string, what: string): string {
    let known = this.resolved.get(run.started.entry);
    if (!known) {
      known = new Map();
      this.resolved.set(run.started.entry, known);
    }
    const cached = known.get(reference);
    if (cached !== undefined) return cached;
    const resolved = resolveReference(
      reference,
      splitEntryId(run.started.entry as EntryId).namespace,
    );
    if (!resolved.ok)
      throw new LuactError('INVALID', `invalid ${what} ID: ${resolved.error}`, {
        retryable: false,
      });
    known.set(reference, resolved.value);
    return resolved.value;
  }
}
