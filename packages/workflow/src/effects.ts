import { LuactError } from '@luact/core';
import { type ExitOutcome, type ProcessSystem, withCallSite } from '@luact/process';
import type { CommandEffects } from './driver.js';
import type { CancelsOnce, WorkflowStarter } from './host.js';
import type { Command, Outcome } from './records.js';
import type { WorkflowRun } from './run.js';

/**
 * What a workflow's commands do outside it: activities run as function calls of the process
 * system; messages, cancels and monitors go to processes there or to workflows on the node's
 * workflow hosts; child workflows start on their host.
 */
export class WorkflowEffects implements CommandEffects {
  constructor(
    private readonly system: ProcessSystem,
    private readonly hosts: (id: string) => WorkflowStarter | undefined,
  ) {}

  invoke(command: Extract<Command, { k: 'activity' }>, _attempt: number) {
    const context = new Map(Object.entries(command.context));
    let invocation: ReturnType<ProcessSystem['invoke']>;
    try {
      invocation = this.system.invoke({
        entry: command.entry as never,
        args: command.args,
        context,
        ...(command.options.timeout !== undefined ? { timeoutMs: command.options.timeout } : {}),
      });
    } catch (error) {
      // An activity of no entry: say where the workflow's code called it.
      throw withCallSite(error, () => command.site);
    }
    return {
      outcome: invocation.outcome.then(
        (outcome): Outcome => (outcome.ok ? outcome : { ok: false, error: outcome.error.toData() }),
      ),
      cancel: (reason: string) => invocation.cancel(reason),
    };
  }

  async send(from: WorkflowRun, command: Extract<Command, { k: 'send' }>): Promise<void> {
    const delivery = this.system.send({
      to: this.system.resolveDestination(command.to),
      from: from.pid,
      topic: command.topic,
      payload: command.payload,
      origin: `${from.workflowId}#${from.started.run}:${command.seq}`,
    });
    if (delivery instanceof LuactError) throw delivery;
    await delivery;
  }

  async startChild(parent: WorkflowRun, command: Extract<Command, { k: 'child' }>): Promise<void> {
    const host = this.hosts(command.host);
    if (!host)
      throw new LuactError('NOT_FOUND', `no workflow host ${command.host}`, { retryable: false });
    await host
      .start({
        workflow: command.workflow,
        entry: command.entry,
        args: command.args,
        context: command.context,
        parent: parent.pid,
        parentSeq: command.seq,
        follow: command.follow,
        messages: command.messages,
        conflict: command.conflict,
      })
      .catch((error: unknown) => {
        throw withCallSite(error, () => command.site);
      });
  }

  async signal(
    from: WorkflowRun,
    command: Extract<Command, { k: 'cancel' | 'terminate' }>,
  ): Promise<void> {
    const to = this.system.resolveDestination(command.to);
    const route = this.system.route(to);
    if (command.k === 'cancel' && route.kind === 'external' && cancelsOnce(route.host)) {
      // A cancel of a workflow carries the command's place, so carrying it out again after a
      // crash or a move is taken once.
      await route.host.cancel(to, {
        reason: command.reason,
        from: from.pid,
        origin: `${from.workflowId}#${from.started.run}:${command.seq}`,
      });
      return;
    }
    const signal =
      command.k === 'terminate'
        ? ({ kind: 'terminate', to, from: from.pid } as const)
        : ({
            kind: 'cancel',
            to,
            from: from.pid,
            at: this.system.clock.now(),
            reason: command.reason,
          } as const);
    const delivery = this.system.signal(signal);
    if (delivery instanceof LuactError) throw delivery;
    await delivery;
  }

  async watch(target: string, onExit: (outcome: Outcome) => void): Promise<void> {
    const pid = this.system.resolveDestination(target);
    const route = this.system.route(pid);
    if (route.kind === 'external') {
      await route.host.watch(pid, (outcome) => onExit(asData(outcome)));
      return;
    }
    if (route.kind === 'thread') {
      // A process of a worker thread: followed from an inbox here, as a process of another node.
      const inbox = this.system.openInbox(() => {});
      const watched = inbox.watch(pid, (outcome) => {
        inbox.close();
        onExit(asData(outcome));
      });
      if (watched instanceof LuactError) {
        inbox.close();
        throw watched;
      }
      await watched;
      return;
    }
    if (route.kind !== 'process') {
      throw new LuactError(
        'NOT_FOUND',
        `process ${target} not found: it does not exist or has ended`,
        {
          retryable: false,
        },
      );
    }
    route.process.exitListeners.add((outcome) => onExit(asData(outcome)));
  }
}

function cancelsOnce(host: object): host is CancelsOnce {
  return typeof (host as Partial<CancelsOnce>).cancel === 'function';
}

/** An exit as the journal keeps it: errors in their data form. */
function asData(outcome: ExitOutcome): Outcome {
  return outcome.ok ? outcome : { ok: false, error: outcome.error.toData() };
}
