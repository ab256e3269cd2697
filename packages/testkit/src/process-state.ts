import { readFileSync } from 'node:fs';

/**
 * Whether `pid` is a live process. A zombie counts as gone: it holds no ports or files, and an
 * orphaned server whose parent died is reparented to PID 1, which in some containers never reaps
 * it, so its PID can stay in the table indefinitely.
 */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
  return processState(pid) !== 'Z';
}

/** The state letter from /proc/<pid>/stat (Linux); undefined elsewhere or when unreadable. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ...": comm may contain spaces and parentheses, so split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ', 1)[0];
  } catch {
    return undefined;
  }
}
