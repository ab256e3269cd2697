import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { connect, Socket } from 'node:net';
import { join } from 'node:path';
import { NatsServerError } from './errors.js';
import { killOnExit, spawnWatchdog } from './owner-cleanup.js';
import { settlesWithin, sleep } from './wait.js';

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** What the server wrote to its ports file, reduced to what tests need. */
export interface ServerPorts {
  readonly clientUrl: string;
  readonly clientPort: number;
  readonly monitorUrl: string | undefined;
  readonly monitorPort: number | undefined;
}

export interface LaunchOptions {
  readonly binary: string;
  readonly args: readonly string[];
  /** Gets the ports file; the watchdog removes it if this Node process dies. */
  readonly dir: string;
  readonly readyTimeoutMs: number;
}

const LOG_TAIL_LINES = 30;
const LOG_BUFFER_CHARS = 32_768;
const POLL_MS = 10;
const KILL_WAIT_MS = 5_000;

/** One nats-server OS process, from spawn to exit, with its watchdog. Restarts make a new one. */
export class NatsProcess {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  #child: ChildProcess;
  #stderrClosed: Promise<void>;
  #status: ExitStatus | undefined;
  #log = '';

  private constructor(child: ChildProcess, pid: number, dir: string) {
    this.#child = child;
    this.pid = pid;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#log = (this.#log + chunk).slice(-LOG_BUFFER_CHARS);
    });
    this.#stderrClosed = new Promise((resolve) => {
      if (child.stderr === null) resolve();
      else child.stderr.once('close', resolve);
    });
    const watchdog = spawnWatchdog(pid, dir);
    const unregister = killOnExit(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.#status = { code, signal };
        unregister();
        watchdog.kill('SIGKILL');
        resolve(this.#status);
      });
    });
  }

  /** Spawns the server and resolves once it accepts client connections. */
  static async launch(
    options: LaunchOptions,
  ): Promise<{ process: NatsProcess; ports: ServerPorts }> {
    const args = ['--ports_file_dir', options.dir, ...options.args];
    const child = spawn(options.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const pid = child.pid;
    if (pid === undefined) {
      const cause = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new NatsServerError(
        'start-failed',
        `could not spawn ${options.binary}: ${cause.message}`,
        '',
        { cause },
      );
    }
    child.on('error', () => {}); // kill() on an exited child; the exit event is what counts
    // A forgotten stop() must not keep the test process alive; the exit hook cleans up instead.
    child.unref();
    if (child.stderr instanceof Socket) child.stderr.unref();
    const proc = new NatsProcess(child, pid, options.dir);
    const ports = await proc.#waitUntilReady(options);
    return { process: proc, ports };
  }

  get running(): boolean {
    return this.#status === undefined;
  }

  logTail(lines = LOG_TAIL_LINES): string {
    return this.#log.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** SIGINT (graceful, JetStream flushed), then SIGKILL if it is still running after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.running) return;
    this.#child.kill('SIGINT');
    if (await settlesWithin(this.exited, timeoutMs)) return;
    await this.kill('SIGKILL', KILL_WAIT_MS);
  }

  /** Sends `signal` and waits until the process has exited. */
  async kill(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    if (!this.running) return;
    this.#child.kill(signal);
    if (await settlesWithin(this.exited, timeoutMs)) return;
    throw new NatsServerError(
      'stop-timeout',
      `nats-server (pid ${this.pid}) still running ${timeoutMs} ms after ${signal}`,
      this.logTail(),
    );
  }

  async #waitUntilReady(options: LaunchOptions): Promise<ServerPorts> {
    const deadline = Date.now() + options.readyTimeoutMs;
    for (;;) {
      const ports = await readPortsFile(options.dir, this.pid);
      if (ports !== undefined && (await acceptsClients(ports.clientUrl, deadline))) return ports;
      if (!this.running) {
        const { code, signal } = await this.exited;
        // 'exit' can precede the last stderr chunk, which usually holds the reason.
        await settlesWithin(this.#stderrClosed, 500);
        throw new NatsServerError(
          'exited-early',
          `nats-server exited before accepting clients (code ${code}, signal ${signal}); ` +
            `command: ${options.binary} ${options.args.join(' ')}`,
          this.logTail(),
        );
      }
      if (Date.now() >= deadline) {
        await this.kill('SIGKILL', KILL_WAIT_MS);
        throw new NatsServerError(
          'ready-timeout',
          `nats-server did not accept clients within ${options.readyTimeoutMs} ms`,
          this.logTail(),
        );
      }
      await Promise.race([sleep(POLL_MS), this.exited]);
    }
  }
}

/** The ports file is named `<executable>_<pid>.ports`; matching on the PID ignores the name. */
async function readPortsFile(dir: string, pid: number): Promise<ServerPorts | undefined> {
  try {
    const file = (await readdir(dir)).find((name) => name.endsWith(`_${pid}.ports`));
    if (file === undefined) return undefined;
    const parsed: unknown = JSON.parse(await readFile(join(dir, file), 'utf8'));
    const clientUrl = firstUrl(parsed, 'nats');
    if (clientUrl === undefined) return undefined;
    const monitorUrl = firstUrl(parsed, 'monitoring');
    return {
      clientUrl,
      clientPort: Number(new URL(clientUrl).port),
      monitorUrl,
      monitorPort: monitorUrl === undefined ? undefined : Number(new URL(monitorUrl).port),
    };
  } catch {
    return undefined; // not written yet, or caught half-written
  }
}

function firstUrl(parsed: unknown, key: string): string | undefined {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const urls: unknown = Reflect.get(parsed, key);
  if (!Array.isArray(urls)) return undefined;
  const [url]: unknown[] = urls;
  return typeof url === 'string' ? url : undefined;
}

/** A real client handshake: the server's first bytes on a client connection are `INFO {...}`. */
function acceptsClients(clientUrl: string, deadline: number): Promise<boolean> {
  const { hostname, port } = new URL(clientUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(Math.max(1, Math.min(1_000, deadline - Date.now())), () => done(false));
    socket.once('data', (data) => done(data.toString('latin1').startsWith('INFO ')));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}
