import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from '../harness.js';

const PROBE = fileURLToPath(new URL('./idle-memory-probe.ts', import.meta.url));
const run = promisify(execFile);

/**
 * RSS and Lua heap added per idle process (`luact`: blocked in a receive on a process host;
 * `bare`: a bare suspended coroutine), median of `rounds` runs, each in a new Node.js process:
 * in a process that freed memory before, the pages it kept took part of the new processes
 * without growing RSS (2.2–2.6 KiB against 2.8–3.1 KiB in a new process).
 */
export async function idleMemory(
  kind: 'luact' | 'bare',
  count: number,
  rounds: number,
): Promise<{ rss: number; heap: number }> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // The same loader and flags as this run (tsx, --expose-gc, the source condition).
    const { stdout } = await run(process.execPath, [...process.execArgv, PROBE, kind, `${count}`], {
      maxBuffer: 1 << 20,
    });
    const measured = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
      rss: number;
      heap: number;
    };
    rss.push(measured.rss);
    heap.push(measured.heap);
  }
  return { rss: median(rss), heap: median(heap) };
}
