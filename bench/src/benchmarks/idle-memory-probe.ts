/**
 * Measures idle memory in a process of its own (see idle-memory.ts): `luact COUNT` — RSS and
 * Lua heap added per process by COUNT processes blocked in `process.inbox():receive()` on one
 * host, after GC; `bare COUNT` — the same for bare suspended coroutines in a Lua state. Prints
 * one JSON line, {rss, heap} in bytes per process.
 */
import { bareCoroutineCost } from './baselines.js';
import { benchNode } from './lua-app.js';

const APP = `
namespace: bench
entries:
  - name: processes
    kind: process.host
    # 100k idle processes hold ~200 MB of Lua heap: above the default max_memory.
    host: { max_processes: 200000, max_memory: 1073741824 }
  - name: idle
    kind: process.lua
    source: "return { main = function() process.inbox():receive() end }"
  - name: spawn_idle
    kind: process.lua
    source: |
      return { main = function(n)
        for i = 1, n do process.spawn("idle", "processes") end
      end }
`;

async function idleProcesses(count: number): Promise<{ rss: number; heap: number }> {
  const { node, close } = await benchNode(APP);
  try {
    const host = node.system.host('bench:processes');
    if (!host) throw new Error('no host');
    gc();
    const rssBefore = process.memoryUsage().rss;
    const heapBefore = host.vm.heapBytes();
    const outcome = await node.run('bench:spawn_idle', [count]);
    if (!outcome.ok) throw outcome.error;
    while (host.vm.readyCount > 0 || host.processCount < count)
      await new Promise((resolve) => setImmediate(resolve));
    gc();
    return {
      rss: (process.memoryUsage().rss - rssBefore) / count,
      heap: (host.vm.heapBytes() - heapBefore) / count,
    };
  } finally {
    await close();
  }
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with --expose-gc');
  collect();
}

const [kind, count] = [process.argv[2], Number(process.argv[3])];
const measured = kind === 'bare' ? await bareCoroutineCost(count) : await idleProcesses(count);
process.stdout.write(`${JSON.stringify(measured)}\n`);
