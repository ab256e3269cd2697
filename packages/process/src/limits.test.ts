import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, harness, lua } from './testing/system-harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

describe('bad input and limits', () => {
  it('refuses a message larger than the receiving host allows, naming both sizes', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_message_size: 1024 } },
      'app:main': lua(`return { main = function()
        local ok, err = process.send(process.pid(), "big", string.rep("x", 2000))
        local fine = process.send(process.pid(), "small", "x")
        return { ok == nil, err:kind(), err:message(), fine }
      end }`),
    });
    const result = await h.run('app:main');
    expect(result.value).toEqual([
      true,
      'Invalid',
      expect.stringMatching(
        /^message of 200\d bytes to \{app:processes\|\d+\} exceeds host app:processes's limit of 1024 bytes$/,
      ),
      true,
    ]);
  });

  it('refuses a send to a full mailbox; the receiver keeps what it had', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_mailbox: 5 } },
      'app:main': lua(`return { main = function()
        local me = process.pid()
        for i = 1, 5 do assert(process.send(me, "n", i)) end
        local ok, err = process.send(me, "n", 6)
        local inbox = process.inbox()
        local got = {}
        for i = 1, 5 do got[i] = inbox:receive():payload():data() end
        return { ok == nil, err:kind(), #got, got[5], (process.send(me, "n", 7)) }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([true, 'RateLimited', 5, 5, true]);
  });

  it("charges a child's thread to the child, not to the process that spawned it", async () => {
    // Each idle child keeps a thread of some 300 bytes: 5,000 of them are past the spawner's
    // 1 MiB, had they been charged to it (they were, when made during its host call, and the
    // refusal panicked the engine).
    h = await harness({
      'app:processes': {
        kind: 'process.host',
        host: { max_process_memory: 1024 * 1024, max_processes: 6000 },
      },
      'app:idle': lua('return { main = function() process.inbox():receive() end }'),
      'app:main': lua(`return { main = function()
        for i = 1, 5000 do assert(process.spawn("idle", "app:processes")) end
        return true
      end }`),
    });
    expect(await h.run('app:main')).toEqual({ ok: true, value: true });
  });

  it('gives back the room a burst of mail took, once the process has received it all', async () => {
    // 30,000 messages a process sends itself grow its inbox's queue to room for 32,768 (2 MiB).
    // Once it took them all, that room is let go: 3 MiB more (6 MiB while string.rep builds
    // them) fit in its 8 MiB.
    h = await harness({
      'app:processes': {
        kind: 'process.host',
        host: { max_process_memory: 8 * 1024 * 1024, max_mailbox: 40_000 },
      },
      'app:main': lua(`return { main = function()
        local me, inbox = process.pid(), process.inbox()
        for i = 1, 30000 do assert(process.send(me, "n", i)) end
        for i = 1, 30000 do assert(inbox:receive():payload():data() == i) end
        return #string.rep("x", 3 * 1024 * 1024)
      end }`),
    });
    expect(await h.run('app:main')).toEqual({ ok: true, value: 3 * 1024 * 1024 });
  });

  it("makes room for a burst of mail at the host's charge, not the sender's", async () => {
    // 9,000 messages waiting for one receiver take a queue with room for 16,384 (1 MiB): made
    // by the sender's sends, it was charged to the sender, whose send then failed on its 1 MiB.
    h = await harness({
      'app:processes': {
        kind: 'process.host',
        host: { max_process_memory: 1024 * 1024, max_mailbox: 20_000 },
      },
      'app:receiver': lua(`return { main = function(parent)
        local inbox, go = process.inbox(), process.listen("go")
        process.send(parent, "ready")
        go:receive()
        local in_order = 0
        for i = 1, 9000 do
          if inbox:receive():payload():data() == i then in_order = in_order + 1 end
        end
        process.send(parent, "got", in_order)
      end }`),
      'app:main': lua(`return { main = function()
        local ready, got = process.listen("ready"), process.listen("got")
        local receiver = process.spawn("receiver", "app:processes", process.pid())
        ready:receive()
        for i = 1, 9000 do assert(process.send(receiver, "n", i)) end
        process.send(receiver, "go")
        return got:receive()
      end }`),
    });
    expect(await h.run('app:main')).toEqual({ ok: true, value: 9000 });
  });

  it('loses no message when the receiver has no room to take it over from the host', async () => {
    // The receiver holds most of its 4 MiB; its host holds 600 KB messages for it (sent from
    // another host). Taking the first over is refused: its receive fails, and once it let go
    // of what it held, it receives every message, the first one first.
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:tight': { kind: 'process.host', host: { max_process_memory: 4 * 1024 * 1024 } },
      'app:receiver': lua(`return { main = function(parent)
        local inbox, go = process.inbox(), process.listen("go")
        local held = {}
        for i = 1, 55 do held[i] = string.rep("x", 65536) .. i end
        process.send(parent, "ready")
        go:receive()
        local ok, err = pcall(inbox.receive, inbox)
        held = nil
        local firsts = {}
        for i = 1, 3 do firsts[i] = inbox:receive():payload():data():sub(1, 2) end
        process.send(parent, "result", { ok, tostring(err):match("not enough memory") ~= nil, firsts })
      end }`),
      'app:main': lua(`return { main = function()
        local ready, result = process.listen("ready"), process.listen("result")
        local receiver = process.spawn("receiver", "app:tight", process.pid())
        ready:receive()
        for i = 1, 3 do assert(process.send(receiver, "n", i .. ":" .. string.rep("y", 600000))) end
        assert(process.send(receiver, "go"))
        return result:receive()
      end }`),
    });
    expect(await h.run('app:main')).toEqual({ ok: true, value: [false, true, ['1:', '2:', '3:']] });
  });

  it('leaves a message to decode to its waiting receiver, which pays for it, and loses nothing when the sender could not', async () => {
    // 50,000 references to one empty table: 50 KB encoded, over 3 MB decoded. The receiver
    // waits on a listened topic (its value decoded). The sender's direct send decoded it, on
    // the sender's memory, after taking the receiver off its wait: the send raised, the
    // receiver waited for ever, and what came after piled up behind it.
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_process_memory: 8 * 1024 * 1024 } },
      'app:receiver': lua(`return { main = function(parent)
        local big = process.listen("big")
        process.send(parent, "ready")
        local first, second = big:receive(), big:receive()
        process.send(parent, "got", { #first, #second })
      end }`),
      'app:main': lua(`return { main = function()
        local ready, got = process.listen("ready"), process.listen("got")
        local receiver = process.spawn("receiver", "app:processes", process.pid())
        ready:receive()
        local held = {}
        for i = 1, 60 do held[i] = string.rep("b", 100000) .. i end
        local empty, many = {}, {}
        for i = 1, 50000 do many[i] = empty end
        local ok, sent = pcall(process.send, receiver, "big", many)
        many, held = nil, nil
        assert(process.send(receiver, "big", { 1, 2, 3 }))
        return { ok and sent, (got:receive()) }
      end }`),
    });
    expect(await h.run('app:main')).toEqual({
      ok: true,
      value: [true, [50_000, 3]],
    });
  });

  it('wakes a receiver waiting, in a select or a receive, for a value left to it to decode', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:receiver': lua(
        `local time = require("time")
        return { main = function(parent)
          local x = process.listen("x")
          process.send(parent, "ready")
          local got = {}
          for i = 1, 3 do
            local r = channel.select({ x:case_receive(), time.after("5s"):case_receive() })
            got[i] = r.channel == x and r.value.n or "timeout"
          end
          got[4] = x:receive().n
          process.send(parent, "got", got)
        end }`,
        ['time'],
      ),
      'app:main': lua(
        `local time = require("time")
        return { main = function()
          local ready, got = process.listen("ready"), process.listen("got")
          local receiver = process.spawn("receiver", "app:processes", process.pid())
          ready:receive()
          for i = 1, 4 do time.sleep("20ms"); assert(process.send(receiver, "x", { n = i })) end
          return (got:receive())
        end }`,
        ['time'],
      ),
    });
    expect(await h.run('app:main')).toEqual({ ok: true, value: [1, 2, 3, 4] });
  });

  it("keeps a sender's order when a table it sent to a waiting receiver is followed by numbers", async () => {
    // A table to a listened topic is decoded by its receiver: numbers after it must not pass it.
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:receiver': lua(`return { main = function(parent)
        local t = process.listen("t")
        process.send(parent, "ready")
        local got = {}
        for i = 1, 3 do
          local v = t:receive()
          got[i] = type(v) == "table" and v[1] or v
        end
        process.send(parent, "got", got)
      end }`),
      'app:main': lua(`return { main = function()
        local ready, got = process.listen("ready"), process.listen("got")
        local receiver = process.spawn("receiver", "app:processes", process.pid())
        ready:receive()
        process.send(receiver, "t", { 1 })
        process.send(receiver, "t", 2)
        process.send(receiver, "t", 3)
        return (got:receive())
      end }`),
    });
    expect(await h.run('app:main')).toEqual({ ok: true, value: [1, 2, 3] });
  });

  it('refuses a spawn beyond the host process limit', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_processes: 3 } },
      'app:idle': lua('return { main = function() process.inbox():receive() end }'),
      'app:main': lua(`return { main = function()
        local a = process.spawn("idle", "app:processes")
        local b = process.spawn("idle", "app:processes")
        local c, err = process.spawn("idle", "app:processes")
        return { a ~= nil, b ~= nil, c == nil, err:kind(), err:message() }
      end }`),
    });
    // The main process itself is the third on the host.
    expect((await h.run('app:main')).value).toEqual([
      true,
      true,
      true,
      'RateLimited',
      'host app:processes is full: it runs its limit of 3 processes',
    ]);
  });

  it('refuses a spawn that another thread of the host took the last room from meanwhile', async () => {
    // The host's count on all its threads: two run elsewhere, and one more starts there between
    // this thread's check and its count.
    let elsewhere = 2;
    let here = 0;
    let racing = true;
    const wide = {
      count: () => elsewhere + here,
      add: (change: number) => {
        if (racing && change > 0) {
          elsewhere++;
          racing = false;
        }
        here += change;
      },
    };
    h = await harness(
      {
        'app:processes': { kind: 'process.host', host: { max_processes: 3 } },
        'app:idle': lua('return { main = function() process.inbox():receive() end }'),
      },
      { hostWideCount: (id) => (id === 'app:processes' ? wide : undefined) },
    );
    expect(() => h?.spawn('app:idle')).toThrow(
      'host app:processes is full: it runs its limit of 3 processes',
    );
    expect(wide.count()).toBe(3);
    // Room again once one elsewhere ended.
    elsewhere--;
    expect(h.spawn('app:idle')).toMatch(/^\{app:processes\|\d+\}$/);
    expect(wide.count()).toBe(3);
  });

  it('reports a spawn of a missing entry, of the wrong kind, and on a missing host', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:fn': { kind: 'function.lua', source: 'return { main = function() end }' },
      'app:main': lua(`return { main = function()
        local _, e1 = process.spawn("nope", "app:processes")
        local _, e2 = process.spawn("fn", "app:processes")
        local _, e3 = process.spawn("main", "app:nowhere")
        return { e1:kind(), e1:message(), e2:kind(), e2:message(), e3:kind(), e3:message() }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      'NotFound',
      'entry app:nope not found at app:main.lua:2',
      'Invalid',
      'cannot spawn app:fn: it is a function.lua entry, and host app:processes runs process.lua entries',
      'NotFound',
      'process host app:nowhere not found (no process.host entry with that ID) at app:main.lua:4',
    ]);
  });

  it('fails only the process that recurses without end; the host keeps running', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:deep': lua(
        'local function f(n) return 1 + f(n + 1) end return { main = function() return f(1) end }',
      ),
      'app:fine': lua('return { main = function() return "still here" end }'),
    });
    const deep = await h.run('app:deep');
    expect(deep.ok).toBe(false);
    expect(deep.error?.message).toMatch(/stack overflow/);
    expect(await h.run('app:fine')).toEqual({ ok: true, value: 'still here' });
  });

  it('fails only the process that exhausts its host memory; the host keeps running', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_memory: 32 * 1024 * 1024 } },
      'app:hog': lua(`return { main = function()
        local keep = {}
        for i = 1, 1e9 do keep[i] = string.rep("x", 1000) .. i end
      end }`),
      'app:fine': lua('return { main = function() return "still here" end }'),
    });
    const hog = await h.run('app:hog');
    expect(hog.ok).toBe(false);
    expect(hog.error).toMatchObject({
      kind: 'RATE_LIMITED',
      message: expect.stringMatching(
        /^out of memory: the processes of host app:processes hold 3\d\.\d MiB and may hold 32\.0 MiB/,
      ),
    });
    expect(await h.run('app:fine')).toEqual({ ok: true, value: 'still here' });
  });

  it('refuses unknown spawn options and rejects a value that cannot be sent', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:idle': lua('return { main = function() end }'),
      'app:main': lua(`return { main = function()
        local _, e1 = process.with_options({ colour = "red" }):spawn("idle", "app:processes")
        local _, e2 = process.send(process.pid(), "t", function() end)
        return { e1:kind(), e1:message(), e2:kind(), e2:message() }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      'Invalid',
      'unknown or invalid spawn option "colour"',
      'Invalid',
      expect.stringContaining('cannot encode a function'),
    ]);
  });
});
