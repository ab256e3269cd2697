import { type ChildProcess, spawn } from 'node:child_process';
import { Socket } from 'node:net';

/**
 * `sh -c` script ($1 = server PID, $2 = directory to remove). It blocks reading a pipe whose only
 * writer is this Node process; the read returns at EOF, i.e. when this process is gone for any
 * reason (SIGKILL included), and then stops the server and removes its directory.
 * INT and HUP are ignored so that a Ctrl-C aimed at the whole process group cannot skip cleanup.
 * A zombie counts as exited: the orphaned server may be reparented to a PID 1 that never reaps.
 */
const WATCHDOG_SCRIPT = `trap '' INT HUP
pid=$1
dir=$2
running() {
  kill -0 "$pid" 2>/dev/null || return 1
  state=
  read -r _ _ state _ 2>/dev/null < "/proc/$pid/stat"
  [ "$state" != Z ]
}
read _
kill -INT "$pid" 2>/dev/null
i=0
while running && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if running; then kill -KILL "$pid"; fi
rm -rf -- "$dir"`;

/**
 * Starts the watchdog for server `pid` owning `dir`. The caller kills it (SIGKILL, so it does not
 * act) once the server has exited. It is unref'd so it never keeps this process alive.
 */
export function spawnWatchdog(pid: number, dir: string): ChildProcess {
  const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'luact-nats-watchdog', String(pid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  // A failed spawn only loses the crash safety net; the exit hook and stop() still apply.
  watchdog.on('error', () => {});
  watchdog.stdin?.on('error', () => {});
  watchdog.unref();
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
  return watchdog;
}

// The only module state: servers still running, for the exit hook below.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Best effort for a normal exit without stop(): SIGKILL (the only thing possible synchronously).
 * The watchdog then sees its pipe close and removes the directory. Returns the unregister function.
 */
export function killOnExit(child: ChildProcess): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const server of running) server.kill('SIGKILL');
    });
  }
  running.add(child);
  return () => running.delete(child);
}
