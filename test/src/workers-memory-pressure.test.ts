import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Node } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A host on two worker threads whose max_memory is used up: one thread holds a large heap of
 * small tables (its answers to a request for room take a full collection of it, tens of
 * milliseconds), and forty processes of the other thread each try to allocate more than is
 * left. Each is refused with "not enough memory"; its thread waits for the other's answers
 * inside its slices, and must never look stuck to the watchdog (max_slice 100 ms: a bound of
 * 300 ms) for it, which would end all of its processes with "worker down".
 */

const VICTIMS = 40;

const APP = `
namespace: mem
entries:
  - name: h
    kind: process.host
    host: { workers: 2, max_memory: 64MiB, max_slice: 100ms }

  # Holds n small tables (about 44 MiB), says so, and waits.
  - name: cache
    kind: process.lua
    source: |
      return { main = function(n, report)
        local t = {}
        for i = 1, n do t[i] = { i } end
        process.send(report, "cached", #t)
        process.listen("never"):receive()
      end }

  # Waits for "go", then allocates 28 MiB.
  - name: victim
    kind: process.lua
    source: |
      return { main = function(report)
        local go = process.listen("go")
        process.send(report, "waiting", true)
        go:receive()
        return #string.rep("x", 28 * 1024 * 1024)
      end }

  # Starts n victims on its own thread, lets them go at once, and counts how they end.
  - name: boss
    kind: process.lua
    source: |
      return { main = function(n)
        local kids, waiting = {}, process.listen("waiting")
        for i = 1, n do kids[i] = process.spawn_monitored("mem:victim", "mem:h", process.pid()) end
        for _ = 1, n do waiting:receive() end
        for i = 1, n do process.send(kids[i], "go", true) end
        local events, ends = process.events(), {}
        for _ = 1, n do
          local err = events:receive().result.error
          local kind = err and err:kind() or "ok"
          ends[kind] = (ends[kind] or 0) + 1
        end
        return ends
      end }

  # The cache on one thread, then the boss on the other (spawns from another host go to the
  # thread with the fewest processes).
  - name: scenario
    kind: process.lua
    source: |
      local function worker(pid) return tonumber(pid:match("|(%d+)}")) % 2 end
      return { main = function(n, victims)
        local cache = process.spawn("mem:cache", "mem:h", n, process.pid())
        process.listen("cached"):receive()
        local boss = process.spawn_monitored("mem:boss", "mem:h", victims)
        assert(worker(boss) ~= worker(cache), "the boss and the cache share a thread")
        local result = process.events():receive().result
        return result.error and { boss = result.error:message() } or result.value
      end }
`;

let dir: string;
let node: Node;
const logged: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-workers-memory-pressure-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  node = await Node.start({
    dir,
    env: {},
    print: () => {},
    log: (record: { level: string; message: string }) => {
      logged.push(`${record.level}: ${record.message}`);
    },
  });
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a host on worker threads whose max_memory is used up', () => {
  it('refuses the allocations of a burst, and no thread looks stuck for it', async () => {
    expect(node.workers?.threadCount).toBe(2);
    const outcome = await node.run('mem:scenario', [600_000, VICTIMS], {
      host: 'luact:main',
      timeoutMs: 60_000,
    });
    expect(logged.filter((line) => line.includes('stopped answering'))).toEqual([]);
    expect(outcome).toEqual({ ok: true, value: { RateLimited: VICTIMS } });
  }, 90_000);
});
