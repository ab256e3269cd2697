import type { NodeWorkers } from './workers/node-workers.js';

/** How soon the node looks again when its main thread is idle and a worker thread is not. */
const RECHECK_MS = 20;

/**
 * Tells its listeners when nothing in the node can make progress any more: no timer, I/O, turn
 * or message is left on any of its threads that could wake a process. On the main thread alone
 * that is this Node.js process's `beforeExit`. With worker threads, the workers let go of the
 * process while someone listens (NodeWorkers.holdProcess), so that `beforeExit` still says when
 * the main thread is idle; the node then asks whether the workers are quiet too
 * (NodeWorkers.quiet), and while one is busy a short timer holds the process until the main
 * thread is idle again and asks anew.
 */
export class NodeIdle {
  private readonly listeners = new Set<() => void>();

  constructor(private readonly workers: NodeWorkers | undefined) {}

  /** Calls `listener` each time the node is found idle; returns how to stop. */
  listen(listener: () => void): () => void {
    if (this.listeners.size === 0) {
      process.on('beforeExit', this.mainThreadIdle);
      this.workers?.holdProcess(false);
    }
    this.listeners.add(listener);
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      process.off('beforeExit', this.mainThreadIdle);
      this.workers?.holdProcess(true);
    };
  }

  private readonly mainThreadIdle = () => {
    if (this.workers !== undefined && !this.workers.quiet()) {
      setTimeout(() => {}, RECHECK_MS);
      return;
    }
    for (const listener of [...this.listeners]) listener();
  };
}
