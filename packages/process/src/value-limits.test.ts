import { encodeValues } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, harness, lua } from './testing/system-harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

const HOST = { 'app:processes': { kind: 'process.host' } };

async function run(source: string, extra: Parameters<typeof harness>[0] = {}) {
  h = await harness({ ...HOST, ...extra, 'app:main': lua(source, ['funcs']) });
  return h.run('app:main');
}

describe('topics', () => {
  it('refuses a topic above 1 KiB in send, and accepts one of exactly 1 KiB', async () => {
    const result = await run(`return { main = function()
      local ok, err = process.send(process.pid(), string.rep("t", 2000), 1)
      local fine = process.send(process.pid(), string.rep("t", 1024), 1)
      return { ok == nil, err:kind(), err:message(), fine }
    end }`);
    expect(result.value).toEqual([
      true,
      'Invalid',
      'process.send: topic of 2000 bytes exceeds the limit of 1024 bytes',
      true,
    ]);
  });

  it('refuses a long topic in listen and with_message', async () => {
    const result = await run(`return { main = function()
      local long = string.rep("t", 1025)
      local ok1, e1 = pcall(process.listen, long)
      local ok2, e2 = pcall(process.with_message, long, 1)
      return { ok1, tostring(e1), ok2, tostring(e2) }
    end }`);
    expect(result.value).toEqual([
      false,
      expect.stringContaining(
        'process.listen: topic of 1025 bytes exceeds the limit of 1024 bytes',
      ),
      false,
      expect.stringContaining('with_message: topic of 1025 bytes exceeds the limit of 1024 bytes'),
    ]);
  });

  it('refuses a long topic from TypeScript', async () => {
    h = await harness({
      ...HOST,
      'app:idle': lua('return { main = function() process.events():receive() end }'),
    });
    const pid = h.spawn('app:idle');
    const error = h.system.send({
      to: pid,
      from: undefined,
      topic: 'ü'.repeat(600),
      payload: encodeValues([]),
    });
    expect(error).toMatchObject({
      kind: 'INVALID',
      message: 'topic of 1200 bytes exceeds the limit of 1024 bytes',
    });
  });
});

describe('names', () => {
  it('refuses names that are too long, hold control characters, are not UTF-8 or look like a PID', async () => {
    const result = await run(`return { main = function()
      local out = {}
      for _, name in ipairs({ string.rep("n", 300), "a\\nb", "tab\\there", "\\xff\\xfe", "{app:processes|1}" }) do
        local ok, err = process.registry.register(name)
        out[#out + 1] = err and err:kind() .. ": " .. err:message() or "accepted"
      end
      out[#out + 1] = (process.registry.register(string.rep("n", 256)))
      return out
    end }`);
    expect(result.value).toEqual([
      'Invalid: process.registry.register: name of 300 bytes exceeds the limit of 256 bytes',
      expect.stringMatching(
        /^Invalid: process name "a\\u\{A\}b" has a line feed \(U\+000A\) at character 2: /,
      ),
      expect.stringMatching(
        /^Invalid: process name "tab\\u\{9\}here" has a tab \(U\+0009\) at character 4: /,
      ),
      'Invalid: process.registry.register: a name must be valid UTF-8',
      'Invalid: process name "{app:processes|1}" must not look like a PID ({…|…})',
      true,
    ]);
  });

  it('refuses a huge name in lookup, unregister and with_name', async () => {
    const result = await run(`return { main = function()
      local huge = string.rep("n", 5 * 1024 * 1024)
      local _, e1 = process.registry.lookup(huge)
      local _, e2 = process.registry.unregister(huge)
      local ok3, e3 = pcall(process.with_name, huge)
      return { e1:kind(), e1:message(), e2:kind(), ok3, e3:kind(), e3:message() }
    end }`);
    expect(result.value).toEqual([
      'Invalid',
      'process.registry.lookup: name of 5242880 bytes exceeds the limit of 256 bytes',
      'Invalid',
      false,
      'Invalid',
      'with_name: name of 5242880 bytes exceeds the limit of 256 bytes',
    ]);
  });

  it('refuses more than 64 names for one process', async () => {
    const result = await run(`return { main = function()
      for i = 1, 64 do assert(process.registry.register("name-" .. i)) end
      local ok, err = process.registry.register("name-65")
      process.registry.unregister("name-1")
      local again = process.registry.register("name-65")
      return { ok == nil, err:kind(), err:message(), again }
    end }`);
    expect(result.value).toEqual([
      true,
      'RateLimited',
      expect.stringMatching(
        /^\{app:processes\|\d+\} already holds 64 names, the limit of names per process$/,
      ),
      true,
    ]);
  });
});

describe('destinations, reasons and references', () => {
  it('refuses a 5 MB cancel reason, and accepts one of 64 KiB', async () => {
    const result = await run(
      `return { main = function()
      local target = process.spawn("idle", "app:processes")
      local ok, err = process.cancel(target, string.rep("r", 5 * 1024 * 1024))
      local fine = process.cancel(target, string.rep("r", 65536))
      return { ok == nil, err:kind(), err:message(), fine }
    end }`,
      { 'app:idle': lua('return { main = function() process.inbox():receive() end }') },
    );
    expect(result.value).toEqual([
      true,
      'Invalid',
      'process.cancel: reason of 5242880 bytes exceeds the limit of 65536 bytes',
      true,
    ]);
  });

  it('refuses a huge destination and huge entry references without echoing them', async () => {
    const result = await run(`local funcs = require("funcs")
    return { main = function()
      local huge = string.rep("d", 3 * 1024 * 1024)
      local out = {}
      local calls = {
        function() return process.send(huge, "t") end,
        function() return process.terminate(huge) end,
        function() return process.monitor(huge) end,
        function() return process.spawn(huge, "app:processes") end,
        function() return process.spawn("idle", huge) end,
        function() return funcs.call(huge) end,
      }
      for i, call in ipairs(calls) do
        local _, err = call()
        out[i] = err:kind() .. ": " .. err:message()
      end
      return out
    end }`);
    expect(result.value).toEqual([
      'Invalid: process.send: destination of 3145728 bytes exceeds the limit of 2048 bytes',
      'Invalid: process.terminate: destination of 3145728 bytes exceeds the limit of 2048 bytes',
      'Invalid: process.monitor: destination of 3145728 bytes exceeds the limit of 2048 bytes',
      'Invalid: spawn: entry of 3145728 bytes exceeds the limit of 2048 bytes',
      'Invalid: spawn: host of 3145728 bytes exceeds the limit of 2048 bytes',
      'Invalid: funcs: entry of 3145728 bytes exceeds the limit of 2048 bytes',
    ]);
  });

  it('refuses an entry or a host that is not a string, with or without arguments', async () => {
    const result = await run(`return { main = function()
      local out = {}
      local calls = {
        function() return process.spawn(42, "app:processes") end,
        function() return process.spawn("idle", nil) end,
        function() return process.spawn({}, "app:processes", 1) end,
        function() return process.spawn("idle", true, "x") end,
      }
      for i, call in ipairs(calls) do
        local pid, err = call()
        out[i] = tostring(pid) .. " " .. err:kind() .. ": " .. err:message()
      end
      return out
    end }`);
    expect(result.value).toEqual([
      'nil Invalid: spawn: entry must be an entry ID string',
      'nil Invalid: spawn: host must be an entry ID string',
      'nil Invalid: spawn: entry must be an entry ID string',
      'nil Invalid: spawn: host must be an entry ID string',
    ]);
  });
});

describe('spawn and call values', () => {
  const SMALL = {
    'app:processes': { kind: 'process.host', host: { max_message_size: 4096, max_mailbox: 3 } },
    'app:idle': lua('return { main = function() process.inbox():receive() end }'),
  };

  it('refuses spawn arguments and context above the target host max_message_size', async () => {
    h = await harness({
      ...SMALL,
      'app:main': lua(`return { main = function()
        local big = string.rep("x", 5000)
        local _, e1 = process.spawn("idle", "app:processes", big)
        local _, e2 = process.with_context({ blob = big }):spawn("idle", "app:processes")
        local _, e3 = process.with_context({ [string.rep("k", 300)] = 1 }):spawn("idle", "app:processes")
        return { e1:kind(), e1:message(), e2:kind(), e2:message(), e3:kind(), e3:message() }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      'Invalid',
      expect.stringMatching(
        /^arguments of 500\d bytes to app:idle exceed host app:processes's limit of 4096 bytes \(max_message_size\)$/,
      ),
      'Invalid',
      expect.stringMatching(
        /^context of 50\d\d bytes to app:idle exceeds host app:processes's limit of 4096 bytes \(max_message_size\)$/,
      ),
      'Invalid',
      'context key of 300 bytes exceeds the limit of 256 bytes',
    ]);
  });

  it('refuses startup messages beyond the mailbox limits of the new process', async () => {
    h = await harness({
      ...SMALL,
      'app:main': lua(`return { main = function()
        local s = process.with_message("a", 1):with_message("a", 2):with_message("a", 3)
        local fine = s:spawn("idle", "app:processes")
        local _, err = s:with_message("a", 4):spawn("idle", "app:processes")
        return { fine ~= nil, err:kind(), err:message() }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      true,
      'RateLimited',
      'cannot spawn app:idle with 4 startup messages: host app:processes allows 3 messages not yet received (max_mailbox)',
    ]);
  });

  it('refuses function call arguments above the function host max_message_size', async () => {
    h = await harness({
      ...HOST,
      'app:fn': { kind: 'function.lua', source: 'return { main = function(x) return #x end }' },
      'app:main': lua(
        `local funcs = require("funcs")
        return { main = function()
          local n = funcs.call("fn", string.rep("x", 1000))
          local _, err = funcs.call("fn", string.rep("x", 2 * 1024 * 1024))
          return { n, err:kind(), err:message() }
        end }`,
        ['funcs'],
      ),
    });
    expect((await h.run('app:main')).value).toEqual([
      1000,
      'Invalid',
      expect.stringMatching(
        /^arguments of 209715\d bytes to app:fn exceed host luact:functions's limit of 1048576 bytes \(max_message_size\)$/,
      ),
    ]);
  });

  it('refuses upgrade arguments above the host max_message_size', async () => {
    h = await harness({
      ...SMALL,
      'app:main': lua(`return { main = function()
        local ok, err = process.upgrade(nil, string.rep("x", 5000))
        return { ok == nil, err:kind(), err:message() }
      end }`),
    });
    expect((await h.run('app:main')).value).toEqual([
      true,
      'Invalid',
      expect.stringMatching(
        /^arguments of 500\d bytes to app:main exceed host app:processes's limit of 4096 bytes \(max_message_size\)$/,
      ),
    ]);
  });

  it('does not remember host or entry references that name nothing', async () => {
    h = await harness({
      ...HOST,
      'app:main': lua(`return { main = function()
        for i = 1, 2000 do process.spawn("idle", "app:nowhere-" .. i) end
        for i = 1, 2000 do process.spawn("nothing-" .. i, "app:processes") end
        return true
      end }`),
    });
    expect((await h.run('app:main')).value).toBe(true);
    // The caches of resolved references keep hosts and entries that exist, not every text tried.
    type Cache = { readonly size: number };
    const system = h.system as unknown as { resolvedHosts: Cache; resolvedEntries: Cache };
    for (const cache of [system.resolvedHosts, system.resolvedEntries]) {
      expect(cache.size).toBeGreaterThan(0);
      expect(cache.size).toBeLessThan(10);
    }
  });
});

describe('output', () => {
  it('cuts a print line and a logger message after 64 Ki characters, saying so', async () => {
    h = await harness({
      ...HOST,
      'app:main': lua(
        `local logger = require("logger")
        return { main = function()
          print(string.rep("p", 100000))
          logger.info(string.rep("l", 70000), { n = 1 })
          print("short")
        end }`,
        ['logger'],
      ),
    });
    await h.run('app:main');
    expect(h.printed.map((line) => line.length)).toEqual([65_536 + 46, 5]);
    expect(h.printed[0]?.endsWith('p… [cut: 100000 characters, the limit is 65536]')).toBe(true);
    expect(h.logs[0]?.message.endsWith('l… [cut: 70000 characters, the limit is 65536]')).toBe(
      true,
    );
    expect(h.logs[0]?.fields).toEqual({ n: 1 });
  });
});
