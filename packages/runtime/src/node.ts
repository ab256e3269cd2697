import { watch } from 'node:fs';
import { LuactError } from '@luact/core';
import {
  type Clock,
  decodeValue,
  encodeValues,
  type LogRecord,
  type LuaApi,
  loadLuaApi,
} from '@luact/lua';
import {
  FUNCTION_HOST,
  type HostFunctionEntry,
  type Pid,
  ProcessSystem,
  processModules,
  type Transport,
} from '@luact/process';
import {
  activateEntry,
  type Diagnostic,
  diffDefinitions,
  type Entry,
  type Environment,
  hasErrors,
  loadApplication,
  planChanges,
  Registry,
  type RegistryEvent,
  readApplication,
  sortDiagnostics,
} from '@luact/registry';
import { checkLuaEntries } from './check.js';
import { DEFAULT_LIMITS } from './limits.js';

/** The host `Node.run` and `luact test` start processes on. */
export const MAIN_HOST = 'luact:main';

export interface NodeOptions {
  /** The application directory: its YAML registry and Lua sources. */
  readonly dir: string;
  /** Resolves `${env:…}` placeholders and env.variable entries (default: process.env). */
  readonly env?: Environment;
  readonly clock?: Clock;
  readonly transport?: Transport;
  /** Where `logger.*` records go (default: dropped). */
  readonly log?: (record: LogRecord) => void;
  /** Where Lua `print` goes (default: stdout). */
  readonly print?: (text: string) => void;
  /** A Lua WebAssembly module to share with other nodes in this process. */
  readonly api?: LuaApi;
}

/** The end of a run: the value of the entry's method, or its error. */
export type RunOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: LuactError };

/** Raised when an application cannot start; `details.diagnostics` lists every problem. */
export class ApplicationError extends LuactError {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(
      'INVALID',
      `the application has ${diagnostics.filter((d) => d.severity === 'error').length} problem(s)`,
      {
        retryable: false,
        details: { diagnostics },
      },
    );
  }
}

/**
 * A luact node: one application's registry, its process hosts, the function host, and the
 * process system between them. Several nodes can live in one Node.js process.
 */
export class Node {
  private watcher: ReturnType<typeof watch> | undefined;
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly registry: Registry,
    readonly system: ProcessSystem,
    readonly env: Environment,
    readonly warnings: readonly Diagnostic[],
  ) {
    registry.subscribe((event) => this.applyHostChanges(event));
  }

  /**
   * Loads and checks the application (registry and Lua sources: every problem at once) and
   * starts its hosts. Throws ApplicationError listing all problems when anything is wrong.
   */
  static async start(options: NodeOptions): Promise<Node> {
    const env = options.env ?? process.env;
    const loaded = await loadApplication(options.dir, { env });
    if (!loaded.snapshot) throw new ApplicationError(loaded.diagnostics);
    const registry = new Registry(loaded.snapshot);
    const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
    const system = new ProcessSystem({
      api: options.api ?? (await loadLuaApi()),
      snapshot: () => registry.snapshot,
      env,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.transport ? { transport: options.transport } : {}),
      modules: (s) => processModules(s, options.log ? { log: options.log } : {}),
      print,
      functionLimits: DEFAULT_LIMITS,
    });
    const problems = checkLuaEntries(
      registry.snapshot,
      system.host(FUNCTION_HOST) as never,
      moduleNames(system),
    );
    if (problems.length > 0) {
      system.close();
      throw new ApplicationError(sortDiagnostics([...loaded.diagnostics, ...problems]));
    }
    const node = new Node(loaded.dir, registry, system, env, loaded.diagnostics);
    system.addHost(MAIN_HOST, DEFAULT_LIMITS);
    for (const entry of registry.snapshot.ofKind('process.host')) node.startHost(entry);
    return node;
  }

  // ── Running code ──────────────────────────────────────────────────────────────────────────

  /** Starts a process of `entry` on `host` (default: the node's main host). */
  spawn(entry: string, args: readonly unknown[] = [], host = MAIN_HOST): Pid {
    return this.system.spawn({ entry, host, args: encodeValues(args) });
  }

  /**
   * Runs a process.lua entry to its end (on the main host), or calls a function.lua entry,
   * and returns its value or error.
   */
  async run(
    entryId: string,
    args: readonly unknown[] = [],
    options: { readonly timeoutMs?: number } = {},
  ): Promise<RunOutcome> {
    const entry = this.registry.snapshot.get(entryId);
    if (!entry)
      throw new LuactError('NOT_FOUND', `entry ${entryId} not found`, { retryable: false });
    const host = entry.kind === 'function.lua' ? FUNCTION_HOST : MAIN_HOST;
    const kinds = entry.kind === 'function.lua' ? ['function.lua'] : ['process.lua'];
    const pid = this.system.spawn({ entry: entryId, host, args: encodeValues(args), kinds });
    const exit = this.system.waitForExit(pid);
    const { timeoutMs } = options;
    const cancel =
      timeoutMs === undefined
        ? undefined
        : this.system.clock.schedule(timeoutMs, () => {
            const running = this.system.process(pid);
            const error = new LuactError(
              'TIMEOUT',
              `${entryId} did not finish within ${timeoutMs} ms`,
            );
            if (running) this.system.kill(running, error);
          });
    const outcome = await exit;
    cancel?.();
    return outcome.ok ? { ok: true, value: decodeValue(outcome.value) } : outcome;
  }

  /** Sends a message to a process (by PID or registered name); throws why it cannot be delivered. */
  send(to: string, topic: string, ...values: unknown[]): void {
    const error = this.system.send({
      to: this.system.resolveDestination(to),
      from: undefined,
      topic,
      payload: encodeValues(values),
    });
    if (error) throw error;
  }

  /** Makes a TypeScript function callable from Lua: funcs.call("ns:name", …). */
  registerFunction(id: string, fn: HostFunctionEntry): void {
    this.system.registerFunction(id, fn);
  }

  // ── Changing the registry ─────────────────────────────────────────────────────────────────

  /**
   * Reads the application directory again and applies the difference as one change set, after
   * checking it like at start-up. Running processes keep their code; new spawns get the new.
   */
  async reload(): Promise<
    { ok: true; changed: number } | { ok: false; diagnostics: readonly Diagnostic[] }
  > {
    const read = await readApplication(this.dir);
    if (hasErrors(read.diagnostics))
      return { ok: false, diagnostics: sortDiagnostics(read.diagnostics) };
    const changes = diffDefinitions(this.registry.snapshot, read.definitions);
    const planned = planChanges(this.registry.snapshot, changes, { env: this.env });
    if (!planned.ok) return { ok: false, diagnostics: planned.error };
    const changed = new Set(
      planned.value.changes.flatMap((c) => (c.type === 'deleted' ? [] : [c.entry.id])),
    );
    const checker = this.system.host(FUNCTION_HOST);
    const problems = checker
      ? checkLuaEntries(planned.value.snapshot, checker, moduleNames(this.system), changed)
      : [];
    if (problems.length > 0) return { ok: false, diagnostics: sortDiagnostics(problems) };
    const applied = this.registry.apply(changes, { env: this.env });
    return applied.ok
      ? { ok: true, changed: applied.value.changes.length }
      : { ok: false, diagnostics: applied.error };
  }

  /** Reloads whenever a file of the application changes (dev mode). */
  watch(onReload: (result: Awaited<ReturnType<Node['reload']>>) => void): void {
    if (this.watcher) return;
    let timer: NodeJS.Timeout | undefined;
    this.watcher = watch(this.dir, { recursive: true }, () => {
      clearTimeout(timer);
      timer = setTimeout(() => void this.reload().then(onReload), 100);
    });
  }

  // ── Shutdown ──────────────────────────────────────────────────────────────────────────────

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.watcher?.close();
    this.system.close();
    await this.system.transport.close();
  }

  private startHost(entry: Entry): void {
    if (entry.kind !== 'process.host') return;
    const config = activateEntry(entry, this.env);
    if (!config.ok) throw new ApplicationError(config.error);
    this.system.addHost(entry.id, config.value.host);
  }

  private applyHostChanges(event: RegistryEvent): void {
    for (const change of event.changes) {
      if (change.type !== 'created' && change.previous.kind === 'process.host') {
        this.system.removeHost(change.previous.id);
      }
      if (change.type !== 'deleted' && change.entry.kind === 'process.host')
        this.startHost(change.entry);
    }
  }
}

function moduleNames(system: ProcessSystem): Set<string> {
  return new Set(processModules(system).map((module) => module.name));
}
