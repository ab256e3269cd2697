import { encodeValues } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, harness, lua } from './testing/system-harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/** A host whose mailboxes hold 10 KiB: three messages of ~3 KB fit, a fourth does not. */
const SMALL = {
  'app:processes': {
    kind: 'process.host',
    host: { max_message_size: 4096, max_mailbox_bytes: 10_240 },
  },
};

describe('mailbox bytes (max_mailbox_bytes)', () => {
  it('refuses a send that would pass the bytes limit, naming the receiver, its queued bytes and the limit', async () => {
    h = await harness({
      ...SMALL,
      'app:main': lua(`return { main = function()
        local me = process.pid()
        local blob = string.rep("x", 3000)
        local accepted, err = 0, nil
        for i = 1, 10 do
          local ok, e = process.send(me, "blob", i, blob)
          if not ok then err = e break end
          accepted = i
        end
        return { accepted, err:kind(), err:message(), err:retryable() }
      end }`),
    });
    const result = await h.run('app:main');
    expect(result.value).toEqual([
      3,
      'RateLimited',
      expect.stringMatching(
        /^mailbox of \{app:processes\|\d+\} is full: it holds 9\d{3} bytes not yet received, and a message of 30\d\d bytes would pass host app:processes's limit of 10240 bytes \(max_mailbox_bytes\)$/,
      ),
      true,
    ]);
  });

  it('releases the bytes of a message when it is received; every accepted message arrives in order', async () => {
    h = await harness({
      ...SMALL,
      'app:main': lua(`return { main = function()
        local me = process.pid()
        local blob = string.rep("x", 3000)
        local sent = 0
        while process.send(me, "blob", sent + 1, blob) do sent = sent + 1 end
        local inbox = process.inbox()
        local got = { (inbox:receive():payload():data()) }
        -- One received: room for exactly one more.
        local again = process.send(me, "blob", sent + 1, blob)
        local refused = process.send(me, "blob", sent + 2, blob)
        for _ = 1, sent do got[#got + 1] = (inbox:receive():payload():data()) end
        return { sent, again, refused == nil, got }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([3, true, true, [1, 2, 3, 4]]);
  });

  it('counts the bytes queued on listen channels and retained before any channel exists', async () => {
    h = await harness({
      ...SMALL,
      'app:main': lua(`return { main = function()
        local me = process.pid()
        local blob = string.rep("x", 3000)
        assert(process.send(me, "a", blob))   -- retained: no channel yet
        local a = process.listen("a")
        assert(process.send(me, "a", blob))   -- queued on the listen channel
        assert(process.send(me, "b", blob))   -- retained for the inbox
        local ok, err = process.send(me, "b", blob)
        a:receive()
        local after = process.send(me, "b", blob)
        return { ok == nil, err and err:kind(), after }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([true, 'RateLimited', true]);
  });

  it('keeps counting what unlisten moves back to the inbox, and what an upgrade keeps', async () => {
    h = await harness({
      ...SMALL,
      'app:next': lua(`return { main = function()
        local me = process.pid()
        local blob = string.rep("x", 3000)
        local refused = process.send(me, "c", blob)
        local inbox = process.inbox()
        local got = {}
        for i = 1, 3 do got[i] = inbox:receive():payload():data() end
        return { refused == nil, #got[1], process.send(me, "c", blob) }
      end }`),
      'app:main': lua(`return { main = function()
        local me = process.pid()
        local blob = string.rep("x", 3000)
        local a = process.listen("a")
        for _ = 1, 3 do assert(process.send(me, "a", blob)) end
        process.unlisten(a)
        local refused = process.send(me, "a", blob)
        if refused then return "not counted after unlisten" end
        process.upgrade("next")
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([true, 3000, true]);
  });

  it('refuses a message from TypeScript to a full mailbox too', async () => {
    h = await harness({
      ...SMALL,
      'app:idle': lua('return { main = function() process.events():receive() end }'),
    });
    const pid = h.spawn('app:idle');
    const payload = encodeValues(['x'.repeat(3000)]);
    const errors = [1, 2, 3, 4].map((_) =>
      h?.system.send({ to: pid, from: undefined, topic: 'blob', payload }),
    );
    expect(errors.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(errors[3]).toMatchObject({ kind: 'RATE_LIMITED' });
  });
});

describe('deliveries that are not sends', () => {
  it('counts cancel requests against the mailbox length', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_mailbox: 5 } },
      'app:idle': lua('return { main = function() process.inbox():receive() end }'),
      'app:main': lua(`return { main = function()
        local target = process.spawn("idle", "app:processes")
        local accepted, err = 0, nil
        for i = 1, 20 do
          local ok, e = process.cancel(target, "stop " .. i)
          if not ok then err = e break end
          accepted = i
        end
        return { accepted, err:kind(), err:message() }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      5,
      'RateLimited',
      expect.stringMatching(
        /^mailbox of \{app:processes\|\d+\} is full: it holds 5 messages not yet received, the limit of host app:processes \(max_mailbox\)$/,
      ),
    ]);
  });

  it('counts cancel reasons against the mailbox bytes; every accepted cancel is delivered', async () => {
    h = await harness({
      ...SMALL,
      'app:target': lua(`return { main = function()
        process.inbox():receive()
        local events = process.events()
        local reasons = {}
        while true do
          local got = channel.select{ events:case_receive(), default = true }
          if got.default then break end
          reasons[#reasons + 1] = #got.value.reason
        end
        return reasons
      end }`),
      'app:main': lua(`return { main = function()
        local events = process.events()
        local target = process.spawn_monitored("target", "app:processes")
        local accepted, err = 0, nil
        for i = 1, 20 do
          local ok, e = process.cancel(target, string.rep("r", 3000))
          if not ok then err = e break end
          accepted = i
        end
        -- A small message still fits: it lets the target read its events.
        assert(process.send(target, "go"))
        local exit = events:receive()
        return { accepted, err:kind(), err:message(), exit.result.value }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      3,
      'RateLimited',
      expect.stringMatching(
        /^mailbox of \{app:processes\|\d+\} is full: it holds 9\d{3} bytes not yet received, and a cancel request of 30\d\d bytes would pass host app:processes's limit of 10240 bytes \(max_mailbox_bytes\)$/,
      ),
      [3000, 3000, 3000],
    ]);
  });

  it('refuses a new call while the calls awaited and the results not received fill the mailbox', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_mailbox: 5 } },
      'app:fn': { kind: 'function.lua', source: 'return { main = function(i) return i end }' },
      'app:main': lua(
        `local funcs = require("funcs")
        return { main = function()
          local futures = {}
          for i = 1, 5 do futures[i] = funcs.async("fn", i) end
          local _, refused = funcs.async("fn", 6)
          local got = {}
          for i = 1, 5 do got[i] = futures[i]:response():receive():data() end
          local again = funcs.call("fn", 7)
          return { refused:kind(), refused:message(), got, again }
        end }`,
        ['funcs'],
      ),
    });
    const value = (await h.run('app:main')).value as [string, string, number[], number];
    expect(value).toEqual([
      'RateLimited',
      expect.stringMatching(
        /^cannot call app:fn: \{app:processes\|\d+\} awaits \d results and holds \d messages, events and results not yet received, the limit of host app:processes \(max_mailbox\)$/,
      ),
      [1, 2, 3, 4, 5],
      7,
    ]);
    // The five calls are awaited or answered and not yet received, as far as the function
    // host got with them (it may run between two calls of a loaded machine's slices).
    const [, awaited, held] = /awaits (\d) results and holds (\d) /.exec(value[1]) ?? [];
    expect(Number(awaited) + Number(held)).toBe(5);
  });

  it('never refuses an EXIT: a monitor with a full mailbox still learns of the end', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_mailbox: 3 } },
      'app:quick': lua('return { main = function() return "done" end }'),
      'app:main': lua(`return { main = function()
        local me = process.pid()
        for i = 1, 3 do assert(process.send(me, "n", i)) end
        local events = process.events()
        local child = process.spawn_monitored("quick", "app:processes")
        local exit = events:receive()
        return { exit.kind, exit.from == child, exit.result.value }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual(['EXIT', true, 'done']);
  });

  it('replaces an exit value above the watcher host max_message_size by an INVALID error naming its size', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_message_size: 4096 } },
      'app:big': lua('return { main = function() return string.rep("x", 10000) end }'),
      'app:main': lua(`return { main = function()
        local value, err = process.exec("big", "app:processes")
        local events = process.events()
        local child = process.spawn_monitored("big", "app:processes")
        local exit = events:receive()
        return { value == nil, err:kind(), err:message(), exit.result.value == nil,
                 exit.result.error:kind() }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      true,
      'Invalid',
      expect.stringMatching(
        /^app:big \(\{app:processes\|\d+\}\) ended with a value of 1000\d bytes, above host app:processes's limit of 4096 bytes \(max_message_size\)$/,
      ),
      true,
      'Invalid',
    ]);
  });

  it('keeps the whole exit value for TypeScript watchers', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_message_size: 4096 } },
      'app:big': lua('return { main = function() return string.rep("x", 10000) end }'),
    });
    const result = await h.run('app:big');
    expect(result).toEqual({ ok: true, value: 'x'.repeat(10_000) });
  });
});
