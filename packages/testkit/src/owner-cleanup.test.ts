import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isProcessRunning } from './process-state.js';
import { sleep } from './wait.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Runs in a separate Node process (through tsx): starts a server, reports it, then idles or exits. */
const OWNER_SCRIPT = `
const { startNatsServer } = await import(process.env.TESTKIT_ENTRY);
const server = await startNatsServer();
process.stdout.write(JSON.stringify({ pid: server.pid, storeDir: server.storeDir }) + '\\n');
if (process.env.OWNER_EXITS === '1') process.exit(0);
setInterval(() => {}, 60_000);
`;

interface OwnedServer {
  readonly pid: number;
  readonly dir: string;
}

function spawnOwner(exits: boolean): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', OWNER_SCRIPT], {
    cwd: here,
    env: {
      ...process.env,
      TESTKIT_ENTRY: pathToFileURL(join(here, 'nats-server.ts')).href,
      OWNER_EXITS: exits ? '1' : '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function readReport(owner: ChildProcess, timeoutMs: number): Promise<OwnedServer> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`owner did not report: ${stderr}`)), timeoutMs);
    owner.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    owner.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const newline = stdout.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      const report: { pid: number; storeDir: string } = JSON.parse(stdout.slice(0, newline));
      resolve({ pid: report.pid, dir: dirname(report.storeDir) });
    });
    owner.once('exit', (code) => {
      if (stdout.includes('\n')) return;
      clearTimeout(timer);
      reject(new Error(`owner exited with ${code} before reporting: ${stderr}`));
    });
  });
}

async function waitUntilGone(server: OwnedServer, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessRunning(server.pid) && !existsSync(server.dir)) return true;
    await sleep(50);
  }
  return false;
}

/** Starts an owner, ends it with `end`, and checks that its server and directory are gone. */
async function expectCleanupAfter(exits: boolean, end: (owner: ChildProcess) => void) {
  const owner = spawnOwner(exits);
  let server: OwnedServer | undefined;
  try {
    server = await readReport(owner, 30_000);
    expect(existsSync(server.dir)).toBe(true);
    end(owner);
    expect(await waitUntilGone(server, 20_000)).toBe(true);
  } finally {
    owner.kill('SIGKILL');
    // Only reached when the assertion failed: do not leak into the next run.
    if (server !== undefined && isProcessRunning(server.pid)) process.kill(server.pid, 'SIGKILL');
    if (server !== undefined) rmSync(server.dir, { recursive: true, force: true });
  }
}

// Child processes on a loaded machine: generous deadlines (both waits poll).
describe('cleanup when the owning process ends without stop()', { timeout: 90_000 }, () => {
  it('the watchdog stops the server and removes its directory when the owner is SIGKILLed', async () => {
    await expectCleanupAfter(false, (owner) => owner.kill('SIGKILL'));
  });

  it('the exit hook and watchdog stop the server when the owner exits normally', async () => {
    await expectCleanupAfter(true, () => {});
  });
});
