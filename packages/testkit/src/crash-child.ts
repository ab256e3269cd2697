import { spawn } from 'node:child_process';

export interface CrashChildOptions {
  /** Node.js arguments: flags, the script, its arguments. */
  readonly args: readonly string[];
  readonly cwd: string;
  /** How long after the child prints `ready` it is killed with SIGKILL. */
  readonly killAfterMs: number;
  /** Named in errors. */
  readonly name: string;
  /** Each line the child prints to stdout, as it comes. */
  readonly onLine?: (line: string) => void;
  /** The child's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** How long the child may take to print `ready`. Default 60 s. */
  readonly readyWithinMs?: number;
}

/**
 * Runs a Node.js child (a crash test's writer) until `killAfterMs` after it prints `ready`,
 * then SIGKILLs it; resolves once it is dead. Rejects when the child is not ready in time
 * (`readyWithinMs`) or exits by itself, with what it printed to stderr.
 */
export function runUntilKilled(options: CrashChildOptions): Promise<void> {
  const readyWithinMs = options.readyWithinMs ?? 60_000;
  const child = spawn(process.execPath, [...options.args], {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: options.env } : {}),
  });
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} never got ready within ${readyWithinMs} ms:\n${stderr}`));
    }, readyWithinMs);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), options.killAfterMs);
        options.onLine?.(line);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`${options.name} exited by itself (${signal ?? code}):\n${stderr}`));
    });
  });
}

/** mulberry32: a small seeded generator, so a failing crash test names its kill points. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
