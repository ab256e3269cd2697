import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { Node } from '@luact/runtime';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * A process host with `workers: 2` added while the node runs (Node.applyChanges), against real
 * threads: its threads start and link to every thread of the node, as at start.
 */

const APP = (hostFields: string) => `
namespace: app
entries:
  - name: w2
    kind: process.host
${hostFields}

  - name: double
    kind: process.lua
    source: |
      return { main = function(x) return { value = x * 2, pid = process.pid() } end }

  # Answers n pings with pongs, to whoever pings.
  - name: ponger
    kind: process.lua
    source: |
      return { main = function(n)
        local pings = process.inbox()
        for _ = 1, n do
          local msg = pings:receive()
          process.send(msg:from(), "pong", msg:payload():data())
        end
      end }

  # Spawns a ponger on \`host\` and pings it n times, one at a time: the pongs must come in order.
  - name: pinger
    kind: process.lua
    source: |
      return { main = function(n, host)
        local ponger = process.spawn("app:ponger", host, n)
        if type(ponger) ~= "string" then error(ponger) end
        local pongs = process.listen("pong")
        for i = 1, n do
          process.send(ponger, "ping", i)
          local got = pongs:receive()
          if got ~= i then error("pong " .. tostring(got) .. " for ping " .. i) end
        end
        return { ponger = ponger, pid = process.pid() }
      end }
`;

const ADDED = {
  op: 'create',
  definition: {
    namespace: 'app',
    name: 'added',
    kind: 'process.host',
    fields: { host: { workers: 2 } },
  },
} as const;

let stopApp: (() => Promise<void>) | undefined;

afterEach(async () => {
  await stopApp?.();
  stopApp = undefined;
});

async function startApp(hostFields: string): Promise<Node> {
  const dir = await mkdtemp(path.join(tmpdir(), 'luact-runtime-hosts-'));
  await writeFile(path.join(dir, 'app.yaml'), APP(hostFields));
  const node = await Node.start({ dir, env: {}, print: () => {}, workers: 1 });
  stopApp = async () => {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  };
  return node;
}

/** Polls `check` until it holds, for at most 20 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`still not: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function run(node: Node, entry: string, args: readonly unknown[], host: string) {
  const outcome = await node.run(entry, args, { timeoutMs: 15_000, host });
  if (!outcome.ok) throw outcome.error;
  return outcome.value as Record<string, unknown>;
}

describe.skipIf(availableParallelism() < 2)('a workers host added while the node runs', () => {
  it('starts its threads, takes spawns from main and from another workers host, and carries mail both ways in order', async () => {
    const node = await startApp('    host:\n      workers: 2');
    expect(node.workers?.threadCount).toBe(2);
    const added = node.applyChanges([ADDED]);
    expect(added).toMatchObject({ ok: true });
    await until('the added host runs on 2 more threads', () => node.workers?.threadCount === 4);

    // From the main thread: spawns alternate between its two workers.
    const direct = await Promise.all(
      [1, 2, 3, 4].map((x) => run(node, 'app:double', [x], 'app:added')),
    );
    expect(direct.map((d) => d.value)).toEqual([2, 4, 6, 8]);
    const numbers = direct.map((d) => Number(/^\{app:added\|(\d+)\}$/.exec(String(d.pid))?.[1]));
    expect(new Set(numbers.map((n) => n % 2))).toEqual(new Set([0, 1]));

    // A process of the main host, and one of app:w2 (another workers host), each ping a ponger
    // they spawned onto the added host.
    for (const host of ['luact:main', 'app:w2']) {
      const result = await run(node, 'app:pinger', [200, 'app:added'], host);
      expect(result.ponger).toMatch(/^\{app:added\|\d+\}$/);
      expect(result.pid).toMatch(host === 'app:w2' ? /^\{app:w2\|\d+\}$/ : /^\{luact:main\|/);
    }
    // And the other way: a process of the added host spawns onto app:w2 and main.
    for (const host of ['app:w2', 'luact:main']) {
      const result = await run(node, 'app:pinger', [200, host], 'app:added');
      expect(result.pid).toMatch(/^\{app:added\|\d+\}$/);
    }
  });

  it('is still refused on a node that runs no worker threads (restart it)', async () => {
    const node = await startApp('');
    expect(node.workers).toBeUndefined();
    expect(node.applyChanges([ADDED])).toMatchObject({
      ok: false,
      error: [
        expect.objectContaining({
          entry: 'app:added',
          message: expect.stringContaining('only to a node that runs worker threads already'),
        }),
      ],
    });
  });
});
