import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Node } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * max_memory of a process host on two worker threads (an engine and a heap each) holds for the
 * host as a whole: what one thread's processes hold leaves that much less to the other's,
 * garbage one thread has not collected yet gives way when the other needs the room, and what a
 * lost thread held comes back with it.
 */

const APP = `
namespace: mem
entries:
  - name: w2
    kind: process.host
    host: { workers: 2, max_memory: 32MiB, max_process_memory: 32MiB }

  # A process of mem:w2 that waits to be told what to do.
  - name: shell
    kind: process.lua
    modules: [luact_test]
    source: |
      local hooks = require("luact_test")
      local roles = {}
      -- Builds mib MiB of 1 KiB strings.
      local function fill(mib)
        local t, piece = {}, string.rep("h", 1000)
        for i = 1, mib * 1024 do t[i] = piece .. i end
        return t
      end
      -- Fills mib MiB, keeps it or drops it (garbage), says so, and waits to be stopped.
      function roles.hold(mib, keep, report)
        local t = fill(mib)
        local count = #t
        if not keep then t = nil end
        process.send(report, "held", count)
        process.listen("stop"):receive()
        return t and #t or 0
      end
      -- Fills mib MiB, says so, and ends its worker thread with what it holds.
      function roles.hold_and_exit(mib, report)
        local t = fill(mib)
        process.send(report, "held", #t)
        hooks.fail_worker("exit")
        process.listen("never"):receive()
      end
      function roles.take(mib) return #fill(mib) end
      function roles.quit() end
      return { main = function()
        local order = process.listen("become"):receive()
        local role = table.remove(order, 1)
        return roles[role](table.unpack(order))
      end }

  - name: scenario
    kind: process.lua
    source: |
      local function worker(pid) return tonumber(pid:match("|(%d+)}")) % 2 end
      -- A shell on worker 0 and one on worker 1 (spawns from another host go to the least
      -- loaded worker); spare ones quit.
      local function two_workers()
        local on = {}
        for _ = 1, 20 do
          local pid = process.spawn("mem:shell", "mem:w2")
          if on[worker(pid)] == nil then on[worker(pid)] = pid
          else process.send(pid, "become", { "quit" }) end
          if on[0] and on[1] then return on[0], on[1] end
        end
        error("20 spawns from another host all landed on one worker")
      end
      local events = process.events()
      local held = process.listen("held")
      -- How process pid ends once sent topic and order: monitored first, or it may have ended
      -- by the time the monitor is asked for.
      local function outcome(pid, topic, order)
        process.monitor(pid)
        process.send(pid, topic, order)
        local event = events:receive()
        local err = event.result.error
        if err == nil then return { value = event.result.value } end
        return { kind = err:kind(), message = err:message() }
      end
      local function hold(pid, mib, keep)
        process.send(pid, "become", { "hold", mib, keep, process.pid() })
        return held:receive()
      end
      local function take(pid, mib) return outcome(pid, "become", { "take", mib }) end
      local function stop(pid) return outcome(pid, "stop", true) end
      local function lost(mib)
        local a, b = two_workers()
        process.monitor(a)
        process.send(a, "become", { "hold_and_exit", mib, process.pid() })
        held:receive()
        local ended = events:receive()
        return { holder = ended.result.error:kind(), after_loss = take(b, mib) }
      end
      return { main = function(mib, mode)
        if mode == "lost" then return lost(mib) end
        local results = {}
        -- Worker 0 holds mib MiB: worker 1 cannot take as much again.
        local a, b = two_workers()
        hold(a, mib, true)
        results.beside_live = take(b, mib)
        -- Once the holder ended, what it held is garbage on worker 0, and gives way.
        results.holder = stop(a)
        local c, d = two_workers()
        process.send(c, "become", { "quit" })
        results.after_end = take(d, mib)
        -- Garbage a running process left on worker 0 gives way too.
        local e, f = two_workers()
        hold(e, mib, false)
        results.beside_garbage = take(f, mib)
        results.litterer = stop(e)
        return results
      end }
`;

let dir: string;
let node: Node;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-workers-memory-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  node = await Node.start({ dir, env: {}, testHooks: true, print: () => {} });
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('max_memory of a process host on worker threads', () => {
  it('holds for the host as a whole, and garbage on one thread gives way to the other', async () => {
    expect(node.workers?.threadCount).toBe(2);
    const outcome = await node.run('mem:scenario', [20], {
      host: 'luact:main',
      timeoutMs: 30_000,
    });
    expect(outcome).toEqual({
      ok: true,
      value: {
        beside_live: {
          kind: 'RateLimited',
          message: expect.stringMatching(
            /^out of memory: the processes of host mem:w2 hold [\d.]+ MiB and may hold 32\.0 MiB \(its max_memory\)/,
          ),
        },
        holder: { value: 20 * 1024 },
        after_end: { value: 20 * 1024 },
        beside_garbage: { value: 20 * 1024 },
        litterer: { value: 0 },
      },
    });
  });

  it('gets back what a worker thread held when the thread is lost', async () => {
    const outcome = await node.run('mem:scenario', [20, 'lost'], {
      host: 'luact:main',
      timeoutMs: 30_000,
    });
    expect(outcome).toEqual({
      ok: true,
      value: { holder: 'Unavailable', after_loss: { value: 20 * 1024 } },
    });
  });
});
