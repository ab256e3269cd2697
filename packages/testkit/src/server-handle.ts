import { rm } from 'node:fs/promises';
import { NatsServerError } from './errors.js';
import { NatsProcess, type ServerPorts } from './nats-process.js';

/** A running nats-server owned by a test. Its URL and ports stay the same across restarts. */
export interface NatsServerHandle {
  readonly name: string;
  /** Client URL, e.g. `nats://127.0.0.1:41873`. */
  readonly url: string;
  readonly port: number;
  /** HTTP monitoring base URL, when monitoring is on. */
  readonly monitorUrl: string | undefined;
  /** PID of the current process; a restart changes it. */
  readonly pid: number;
  /** JetStream store directory; kept across restarts, removed by stop(). */
  readonly storeDir: string;
  /** False after kill(), a crash, or stop(). */
  readonly running: boolean;
  /** The last lines the current process wrote to stderr, for failure messages. */
  logTail(lines?: number): string;
  /** Stops the server (SIGINT, SIGKILL after a bound) and removes its directory. Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and waits until the process has exited; for crash tests. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same ports with the same store. */
  restart(): Promise<void>;
}

/** Ports a restart must reuse so clients can reconnect to the same URL. */
export interface FixedPorts {
  readonly client: number;
  readonly monitor: number | undefined;
}

export interface ServerSpec {
  readonly binary: string;
  readonly name: string;
  /** Owned by the server: holds its config, ports file and store; removed by stop(). */
  readonly dir: string;
  readonly storeDir: string;
  /** Command-line arguments; `fixed` is set for restarts and undefined for the first start. */
  readonly args: (fixed: FixedPorts | undefined) => readonly string[];
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
}

/** Starts a server from `spec`, taking ownership of `spec.dir` (removed again if the start fails). */
export async function launchServer(spec: ServerSpec): Promise<NatsServerHandle> {
  try {
    const { process, ports } = await NatsProcess.launch({
      binary: spec.binary,
      args: spec.args(undefined),
      dir: spec.dir,
      readyTimeoutMs: spec.readyTimeoutMs,
    });
    return new Server(spec, process, ports);
  } catch (error) {
    await rm(spec.dir, { recursive: true, force: true });
    throw error;
  }
}

class Server implements NatsServerHandle {
  readonly url: string;
  readonly monitorUrl: string | undefined;
  readonly #spec: ServerSpec;
  readonly #ports: FixedPorts;
  #process: NatsProcess;
  // Operations run one at a time so a stop() cannot race a restart() into a leaked process.
  #queue: Promise<unknown> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  constructor(spec: ServerSpec, process: NatsProcess, ports: ServerPorts) {
    this.#spec = spec;
    this.#process = process;
    this.url = ports.clientUrl;
    this.monitorUrl = ports.monitorUrl;
    this.#ports = { client: ports.clientPort, monitor: ports.monitorPort };
  }

  get name(): string {
    return this.#spec.name;
  }
  get port(): number {
    return this.#ports.client;
  }
  get pid(): number {
    return this.#process.pid;
  }
  get storeDir(): string {
    return this.#spec.storeDir;
  }
  get running(): boolean {
    return this.#process.running;
  }

  logTail(lines?: number): string {
    return this.#process.logTail(lines);
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#serially(async () => {
      try {
        await this.#process.stop(this.#spec.stopTimeoutMs);
      } finally {
        await rm(this.#spec.dir, { recursive: true, force: true });
      }
    });
    return this.#stopping;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return this.#serially(() => this.#process.kill(signal, this.#spec.stopTimeoutMs), 'kill');
  }

  restart(): Promise<void> {
    return this.#serially(async () => {
      await this.#process.stop(this.#spec.stopTimeoutMs);
      // While the server was down, its port may have become the local end of some other
      // connection on the machine (ports are handed out to outgoing connections too): it is
      // tried again until that ends, within the ready timeout.
      const giveUpAt = Date.now() + this.#spec.readyTimeoutMs;
      for (;;) {
        try {
          const { process } = await NatsProcess.launch({
            binary: this.#spec.binary,
            args: this.#spec.args(this.#ports),
            dir: this.#spec.dir,
            readyTimeoutMs: this.#spec.readyTimeoutMs,
          });
          this.#process = process;
          return;
        } catch (error) {
          if (!portTaken(error) || Date.now() > giveUpAt) throw error;
          await new Promise((resolve) => setTimeout(resolve, PORT_RETRY_MS));
        }
      }
    }, 'restart');
  }

  #serially(operation: () => Promise<void>, refuseAfterStop?: string): Promise<void> {
    if (refuseAfterStop !== undefined && this.#stopping !== undefined) {
      return Promise.reject(
        new NatsServerError('stopped', `${refuseAfterStop}() after stop() on ${this.name}`),
      );
    }
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }
}

/** How long a restart waits before trying a port that was in use again. */
const PORT_RETRY_MS = 200;

/** Whether a start failed because a port it must reuse was in use. */
function portTaken(error: unknown): boolean {
  return (
    error instanceof NatsServerError &&
    error.kind === 'exited-early' &&
    /address already in use/.test(error.logTail)
  );
}
