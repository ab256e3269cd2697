import path from 'node:path';
import { checkWorkflowId, LuactError } from '@luact/core';
import { FileJournal, type Journal } from '@luact/journal';
import { type Clock, decodeValue, type LogRecord, type LuaApi } from '@luact/lua';
import {
  type ClusterNode,
  JetStreamJournal,
  type NatsConnection,
  WorkflowChannel,
} from '@luact/nats';
import type { Pid, ProcessSystem } from '@luact/process';
import {
  activateEntry,
  type Entry,
  type Environment,
  type RegistrySnapshot,
  type WorkflowHostConfig,
} from '@luact/registry';
import { WorkflowHost, type WorkflowSummary, workflowPid, workflowPidParts } from '@luact/workflow';
import { encodeArguments } from './arguments.js';
import type { ClusterWorkflowHost } from './cluster-workflow-host.js';
import { ClusterWorkflows } from './cluster-workflows.js';
import type { NatsConnections } from './nats-connections.js';
import { notAWorkflow, workflowEntry } from './workflow-entry.js';
import { selectRuns, type WorkflowPage, type WorkflowQuery } from './workflow-list.js';

export interface NodeWorkflowOptions {
  readonly snapshot: () => RegistrySnapshot;
  readonly system: ProcessSystem;
  readonly api: LuaApi;
  readonly env: Environment;
  readonly clock: Clock;
  /** Application directory (relative journal dirs resolve against it). */
  readonly dir: string;
  /** Where file journals live by default: `<stateDir>/journal/<host>`. */
  readonly stateDir: string;
  readonly timeSkip: boolean;
  readonly log?: (record: LogRecord) => void;
  readonly print?: (text: string) => void;
  /** The node's NATS connections: its cluster connection (`--nats`) and its entries'. */
  readonly connections: NatsConnections;
  /**
   * The node's place in its cluster (`Node.start` with `cluster`): each host journaling to
   * JetStream then drives only the partitions the view gives this node, and operations on
   * other workflows go to their owners over `connection`.
   */
  readonly cluster?: { readonly node: ClusterNode; readonly connection: NatsConnection };
}

/** The records that end a run. */
const ENDS: readonly string[] = ['completed', 'failed', 'terminated', 'continued'];

/** Where the node starts and watches the workflows of one host: the host, or its cluster router. */
export type WorkflowEndpoint = Pick<WorkflowHost, 'id' | 'start' | 'watch' | 'sleepingFor'>;

/** A workflow as the node reports it, with the host it runs on. */
export interface NodeWorkflowSummary extends WorkflowSummary {
  readonly host: string;
}

/**
 * The workflow hosts of a node (workflow.host entries, and temporal.worker ones read as
 * such), each with its journal. All are created before any recovers, so a run resuming on
 * one host finds the children it started on another.
 */
export class NodeWorkflows {
  private constructor(
    private readonly hostsById: ReadonlyMap<string, WorkflowHost>,
    private readonly snapshot: () => RegistrySnapshot,
    /** The application directory, for messages that say how to run an entry. */
    private readonly dir: string,
    /** On a cluster node: ownership of partitions and routes to their owners. */
    private readonly cluster: ClusterWorkflows | undefined,
  ) {}

  static async start(options: NodeWorkflowOptions): Promise<NodeWorkflows> {
    const hosts = new Map<string, WorkflowHost>();
    const { connections } = options;
    const cluster =
      options.cluster &&
      new ClusterWorkflows({
        identity: options.cluster.node.identity,
        membership: options.cluster.node.membership,
        channel: new WorkflowChannel(options.cluster.connection, 'luact.wf'),
        system: options.system,
        ...(options.log ? { log: options.log } : {}),
      });
    const snapshot = options.snapshot();
    for (const entry of snapshot.ofKind('workflow.host')) {
      const config = activateEntry(entry, options.env);
      if (!config.ok) {
        await Promise.all([...hosts.values()].map((host) => host.stop()));
        throw new LuactError('INVALID', config.error.map((d) => d.message).join('; '), {
          retryable: false,
        });
      }
      let journal: Journal;
      try {
        journal = await openJournal(entry, config.value, options, connections, cluster);
      } catch (error) {
        await Promise.all([...hosts.values()].map((host) => host.stop()));
        throw error;
      }
      const host = new WorkflowHost({
        id: entry.id,
        system: options.system,
        api: options.api,
        limits: config.value.host,
        taskTimeoutMs: config.value.task_timeout,
        ...(config.value.journal.retention !== undefined
          ? { retentionMs: config.value.journal.retention }
          : {}),
        journal,
        snapshot: options.snapshot,
        env: options.env,
        clock: options.clock,
        timeSkip: options.timeSkip,
        ...(options.log ? { log: options.log } : {}),
        ...(options.print ? { print: options.print } : {}),
        hosts: (id) => cluster?.router(id) ?? hosts.get(id),
      });
      hosts.set(entry.id, host);
      // A host journaling to JetStream shares its workflows with the cluster.
      options.system.addExternalHost(
        entry.id,
        cluster && journal instanceof JetStreamJournal ? cluster.add(host, journal) : host,
      );
    }
    const workflows = new NodeWorkflows(hosts, options.snapshot, options.dir, cluster);
    for (const host of hosts.values()) {
      if (cluster?.router(host.id)) continue; // resumed by partition, as the view gives them
      const { resumed, unreadable } = await host.recover();
      if (resumed + unreadable > 0) {
        options.log?.({
          level: unreadable > 0 ? 'warn' : 'info',
          message: 'workflows recovered',
          fields: { host: host.id, resumed, unreadable },
          labels: { host: host.id },
        });
      }
    }
    try {
      await cluster?.start();
    } catch (error) {
      await workflows.stop();
      throw error;
    }
    return workflows;
  }

  host(id: string): WorkflowHost | undefined {
    return this.hostsById.get(id);
  }

  get hosts(): readonly WorkflowHost[] {
    return [...this.hostsById.values()];
  }

  /**
   * The host that runs a workflow.lua entry started directly (`luact run --exec`, `luact
   * test`): the one its `meta.host` (or `meta.temporal.workflow.worker`) names, else the
   * node's only workflow host.
   */
  hostFor(entry: Entry): WorkflowEndpoint {
    const host = this.localHostFor(entry);
    return this.cluster?.router(host.id) ?? host;
  }

  private localHostFor(entry: Entry): WorkflowHost {
    if (entry.kind !== 'workflow.lua') throw notAWorkflow(entry, this.dir);
    const temporal = (entry.meta.temporal as { workflow?: { worker?: unknown } } | undefined)
      ?.workflow;
    const named = entry.meta.host ?? temporal?.worker;
    if (typeof named === 'string') {
      const host = this.hostsById.get(named);
      if (!host)
        throw new LuactError(
          'NOT_FOUND',
          `${entry.id}: meta.host ${named} is not a workflow host`,
          {
            retryable: false,
          },
        );
      return host;
    }
    const hosts = this.hosts;
    if (hosts.length === 1) return hosts[0] as WorkflowHost;
    throw new LuactError(
      'INVALID',
      hosts.length === 0
        ? `${entry.id} is a workflow, but the application has no workflow.host to run it on`
        : `${entry.id}: the application has ${hosts.length} workflow hosts; name one in the entry's meta.host`,
      { retryable: false },
    );
  }

  /** The latest run of each workflow the hosts hold in memory (this life of the node). */
  list(): NodeWorkflowSummary[] {
    return this.hosts.flatMap((host) =>
      host.list().map((summary) => ({ ...summary, host: host.id })),
    );
  }

  /**
   * The runs `query` selects among every run the journals hold, ended ones from earlier lives
   * of the node included (`luact workflow list`).
   */
  async listRuns(query: WorkflowQuery): Promise<WorkflowPage<NodeWorkflowSummary>> {
    const perHost = await Promise.all(
      this.hosts.map(async (host) =>
        (await host.listRuns()).map((summary) => ({ ...summary, host: host.id })),
      ),
    );
    return selectRuns(perHost.flat(), query);
  }

  /**
   * Starts a workflow.lua entry (`luact workflow start`): on `host`, or the entry's own (see
   * hostFor); a running workflow with the same ID is found again instead.
   */
  async start(
    entryId: string,
    args: readonly unknown[],
    options: { readonly id?: string; readonly host?: string } = {},
  ): Promise<string> {
    const entry = workflowEntry(this.snapshot(), entryId, this.dir);
    const host =
      options.host === undefined
        ? this.hostFor(entry)
        : (this.cluster?.router(options.host) ??
          this.hostsById.get(options.host) ??
          fail(
            new LuactError('NOT_FOUND', `no workflow host ${options.host}`, { retryable: false }),
          ));
    return host.start({
      ...(options.id !== undefined ? { workflow: options.id } : {}),
      entry: entry.id,
      args: encodeArguments(args, `the arguments of ${entry.id}`),
      context: {},
      messages: [],
      conflict: 'use_existing',
    });
  }

  /** One workflow: its summary, how it started, and how it ended (payloads decoded). */
  async show(id: string): Promise<Record<string, unknown>> {
    const { host, workflow } = this.locate(id);
    const records = await this.routed(host).history(workflow);
    const started = records[0] as { entry?: string; run?: number; at?: number } | undefined;
    const last = records.at(-1) as { t?: string; at?: number } | undefined;
    const ended = ENDS.includes(String(last?.t));
    const live = host.list().find((item) => item.workflow === workflow);
    // A run says it ended a moment before its end is journaled; shown, it is running until then.
    const current =
      live && !ended && ENDS.includes(live.status)
        ? { ...live, status: 'running', endedAt: undefined }
        : live;
    // A run that ended in an earlier life of the node is known from its journal alone.
    const summary = current ?? {
      workflow,
      pid: workflowPid(host.id, workflow),
      run: started?.run,
      entry: started?.entry,
      status: ended ? last?.t : 'running',
      startedAt: started?.at,
      ...(ended ? { endedAt: last?.at } : {}),
    };
    return readable({
      ...summary,
      host: host.id,
      started,
      ...(ended ? { ended: last } : {}),
      history_length: records.length,
    }) as Record<string, unknown>;
  }

  /** The journal of a workflow's latest run, payloads decoded. */
  async history(id: string): Promise<unknown[]> {
    const { host, workflow } = this.locate(id);
    return (await this.routed(host).history(workflow)).map(readable);
  }

  /** A durable message to a workflow, as if a process had sent it. */
  async signal(id: string, topic: string, values: readonly unknown[]): Promise<void> {
    const { host, pid } = this.locate(id);
    const payload = encodeArguments(values, `a message to ${id}`);
    await this.routed(host).send({ to: pid, from: undefined, topic, payload });
  }

  async cancel(id: string, reason: string | undefined): Promise<void> {
    const { host, pid } = this.locate(id);
    await this.routed(host).signal({
      kind: 'cancel',
      to: pid,
      from: undefined,
      at: BigInt(Date.now()) * 1_000_000n,
      reason,
    });
  }

  async terminate(id: string, reason: string | undefined): Promise<void> {
    const { host, workflow } = this.locate(id);
    await this.routed(host).terminateWorkflow(workflow, reason ?? 'terminated by an operator');
  }

  /** The host itself, or on a cluster node its router to the workflow's owner. */
  private routed(host: WorkflowHost): WorkflowHost | ClusterWorkflowHost {
    return this.cluster?.router(host.id) ?? host;
  }

  /**
   * The host and ID of a workflow named by ID or PID. On a cluster node a workflow may run on
   * another node: a PID names its host, and so does an ID when the node has one shared host.
   */
  private locate(id: string): { host: WorkflowHost; workflow: string; pid: Pid } {
    const parts = workflowPidParts(id);
    const workflow = checkWorkflowId(parts ? parts.workflow : id);
    const shared = this.hosts.filter((host) => this.cluster?.router(host.id) !== undefined);
    const candidates = this.hosts.filter(
      (host) =>
        (!parts || host.id === parts.host) &&
        (host.knows(workflow) ||
          (this.cluster?.router(host.id) !== undefined && (parts || shared.length === 1))),
    );
    if (candidates.length === 0)
      throw new LuactError('NOT_FOUND', `no workflow ${id} on this node`, { retryable: false });
    if (candidates.length > 1) {
      throw new LuactError(
        'INVALID',
        `workflow ID ${id} exists on ${candidates.map((host) => host.id).join(' and ')}; name it by PID ({host|${id}})`,
        { retryable: false },
      );
    }
    const host = candidates[0] as WorkflowHost;
    return { host, workflow, pid: workflowPid(host.id, workflow) };
  }

  async stop(): Promise<void> {
    await this.cluster?.stop();
    await Promise.all(this.hosts.map((host) => host.stop()));
  }
}

async function openJournal(
  entry: Entry,
  config: WorkflowHostConfig,
  options: NodeWorkflowOptions,
  connections: NatsConnections,
  cluster: ClusterWorkflows | undefined,
): Promise<Journal> {
  const connection =
    config.connection === undefined ? undefined : options.snapshot().get(config.connection);
  if (connection?.kind === 'temporal.client') {
    const address = (connection.fields.address as string | undefined) ?? 'its address';
    // `luact lint` notes it; a run says it only with --verbose.
    options.log?.({
      level: 'debug',
      message: `${connection.id} is a temporal.client: luact keeps workflows in its own journal; ${address} is not contacted`,
      fields: { host: entry.id },
      labels: { host: entry.id },
    });
  }
  // The host's own nats.connection, else the node's cluster connection (`--nats`).
  const hasNats = connection?.kind === 'nats.connection' || connections.hasCluster;
  const wantsJetStream =
    config.journal.backend === 'jetstream' || (config.journal.backend === undefined && hasNats);
  if (wantsJetStream) {
    const nats =
      connection?.kind === 'nats.connection' ? connections.get(connection) : connections.cluster();
    if (nats === undefined) {
      throw new LuactError(
        'INVALID',
        `${entry.id} journals to JetStream but names no nats.connection (set its connection field, or run the node with --nats)`,
        { retryable: false },
      );
    }
    // A stream per host, so hosts never rewrite each other's subjects.
    const token = entry.id.replace(/[^A-Za-z0-9]+/g, '_');
    return JetStreamJournal.open({
      connection: await nats,
      stream: `LUACT_JOURNAL_${token.toUpperCase()}`,
      subjectPrefix: `luact.journal.${token}`,
      replicas: config.journal.replicas,
      ...(config.journal.max_age !== undefined ? { maxAge: config.journal.max_age } : {}),
      // Standalone too, so a stream reads the same with and without --node.
      partitionKey: workflowOfStream,
      ...(cluster ? { epochOf: cluster.epochOf(entry.id), partitions: cluster.partitions } : {}),
    });
  }
  const dir =
    config.journal.dir === undefined
      ? path.join(options.stateDir, 'journal', entry.id.replace(/[^A-Za-z0-9_.-]/g, '_'))
      : path.resolve(options.dir, config.journal.dir);
  return FileJournal.open({ dir, fsync: config.journal.fsync });
}

/**
 * The workflow a run's journal (`<workflow>~<run>`) belongs to: it picks the partition, so
 * the runs of one workflow share it and the workflow moves between nodes as a whole.
 */
function workflowOfStream(stream: string): string {
  const at = stream.lastIndexOf('~');
  return at > 0 ? stream.slice(0, at) : stream;
}

/** A journal record with its msgpack payloads (arguments, messages, results) decoded. */
function readable(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    try {
      return readable(decodeValue(value));
    } catch {
      return Buffer.from(value).toString('base64');
    }
  }
  if (value instanceof LuactError) return value.toData();
  if (value instanceof Map) return readable(Object.fromEntries(value));
  if (Array.isArray(value)) return value.map(readable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, field]) => [key, readable(field)]));
  }
  return value;
}

function fail(error: LuactError): never {
  throw error;
}
