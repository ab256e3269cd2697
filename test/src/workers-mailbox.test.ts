import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Node } from '@luact/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Mailbox limits for mail that crosses threads: a receiver on a host with workers: 2 and small
 * mailboxes, senders on the main thread and on another worker host. A send past the limit is
 * `nil, err` at once, as on one thread — not `true` and a message dropped on arrival.
 */

const APP = `
namespace: app
entries:
  - name: small
    kind: process.host
    host: { workers: 2, max_mailbox: 5, max_message_size: 1KiB }
  - name: w2
    kind: process.host
    host:
      workers: 2

  # Reads no mail until the name "filled" is given (any message or event telling it to read
  # would count in its mailbox, a name does not), then reads two messages, takes the name
  # "read_two" (both reads done), and waits to be terminated.
  - name: hoarder
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function()
        while process.registry.lookup("filled") == nil do time.sleep(5 * time.MILLISECOND) end
        local inbox = process.inbox()
        inbox:receive()
        inbox:receive()
        assert(process.registry.register("read_two"))
        channel.new():receive()
      end }

  # Sends to pid until refused; says how many were taken and how the first refusal read.
  - name: filler
    kind: process.lua
    source: |
      return { main = function(pid, at_most, report)
        local sent, err = 0, nil
        for i = 1, at_most do
          local ok, e = process.send(pid, "m", i)
          if not ok then err = e break end
          sent = sent + 1
        end
        local big_ok, big = process.send(pid, "big", string.rep("x", 4096))
        -- A cancel request counts like a message: refused too while the mailbox is full.
        local cancel_ok, cancel = process.cancel(pid, "enough")
        -- One more message, refused as the mailbox is full. Near the limit, it waits for the
        -- receiver's verdict, which comes after what this thread sent before it (a cancel
        -- taken at once may still be on its way until then): once the filler returns, the
        -- receiver holds all it took.
        local after_ok, after = process.send(pid, "m", 0)
        local out = { sent = sent, kind = err and err:kind(), message = err and err:message(),
                      big = big_ok, big_kind = big and big:kind(), pid = process.pid(),
                      cancel = cancel_ok, cancel_kind = cancel and cancel:kind(),
                      after = after_ok, after_kind = after and after:kind() }
        if report then process.send(report, "filled", out) end
        return out
      end }

  - name: scenario
    kind: process.lua
    modules: [time]
    source: |
      local time = require("time")
      return { main = function()
        local box = process.spawn("app:hoarder", "app:small")
        -- The main thread fills the worker's mailbox: 5 taken, the 6th refused.
        local from_main = process.exec("app:filler", "luact:main", box, 8)
        -- A process of another worker host that never sent to it: refused at once too.
        local from_worker = process.exec("app:filler", "app:w2", box, 3)
        -- Once it read two (a name known on every thread before its register returns), there
        -- is room for two again.
        assert(process.registry.register("filled"))
        local waited = 0
        while process.registry.lookup("read_two") == nil and waited < 2000 do
          time.sleep(5 * time.MILLISECOND)
          waited = waited + 1
        end
        local again = process.exec("app:filler", "app:w2", box, 1)
        local then_main = process.exec("app:filler", "luact:main", box, 8)
        process.terminate(box)
        return { box = box, from_main = from_main, from_worker = from_worker,
                 again = again, then_main = then_main }
      end }
`;

let dir: string;
let node: Node;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'luact-workers-mailbox-'));
  await writeFile(path.join(dir, 'app.yaml'), APP);
  node = await Node.start({ dir, env: {}, print: () => {} });
});

afterAll(async () => {
  await node?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('mailbox limits across worker threads', () => {
  it('refuses a send to a full mailbox on a worker at once, from the main thread and from another worker', async () => {
    const outcome = await node.run('app:scenario', [], { timeoutMs: 20_000 });
    if (!outcome.ok) throw outcome.error;
    const out = outcome.value as Record<string, Record<string, unknown>>;
    expect(String(out.box)).toMatch(/^\{app:small\|\d+\}$/);
    expect(out.from_main).toMatchObject({
      sent: 5,
      kind: 'RateLimited',
      big_kind: 'Invalid',
      cancel_kind: 'RateLimited',
      after_kind: 'RateLimited',
    });
    expect(out.from_main?.message).toContain('max_mailbox');
    expect(String(out.from_worker?.pid)).toMatch(/^\{app:w2\|/);
    expect(out.from_worker).toMatchObject({
      sent: 0,
      kind: 'RateLimited',
      big_kind: 'Invalid',
      cancel_kind: 'RateLimited',
      after_kind: 'RateLimited',
    });
    // Two read: one message and its sender's cancel fit again, nothing more.
    expect(out.again).toMatchObject({ sent: 1, cancel: true, after_kind: 'RateLimited' });
    expect(out.then_main).toMatchObject({
      sent: 0,
      kind: 'RateLimited',
      cancel_kind: 'RateLimited',
      after_kind: 'RateLimited',
    });
  });
});
