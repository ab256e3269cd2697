import { LuactError } from '@luact/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, harness, lua } from '../testing/system-harness.js';
import { EventBus } from './bus.js';
import { EVENT_LIMITS } from './events-module.js';

// The `events` module through real Lua: what a subscriber receives, filters, close, the end of
// a subscription with its process, a slow subscriber, and bad arguments.

const EVENTS = ['events'];

const ENTRIES = {
  'app:processes': { kind: 'process.host' },
  'app:publisher': lua(
    `local events = require("events")
    return { main = function()
      events.send("orders", "order.created", "/orders/1", { total = 10 })
      events.send("orders", "order.shipped", "/orders/1")
      events.send("orders.eu", "order.paid", "/orders/2")
      events.send("orders", "order.paid", "/orders/3")
    end }`,
    EVENTS,
  ),
  'app:own_events': lua(
    `local events = require("events")
    return { main = function()
      local sub = assert(events.subscribe("shop.*"))
      local ch = sub:channel()
      assert(sub:channel() == ch, "the same channel on every call")
      local data = { n = 1, nested = { a = "x" } }
      local ok, err = events.send("shop.orders", "order.created", "/orders/1", data)
      assert(ok == true and err == nil)
      data.n = 99
      events.send("shop.orders", "order.paid", "/orders/1")
      events.send("other", "order.paid", "/not/for/us")
      events.send("shop.stock", "item.low", "/items/7", 5)
      local got = {}
      for i = 1, 3 do got[i] = ch:receive() end
      local more = channel.select({ ch:case_receive(), default = true })
      return { got = got, nothing_more = more.default == true }
    end }`,
    EVENTS,
  ),
  'app:kind_filter': lua(
    `local events = require("events")
    return { main = function()
      local sub = assert(events.subscribe("orders", "order.(created|paid)"))
      process.spawn("app:publisher", "app:processes")
      local ch = sub:channel()
      local first, second = ch:receive(), ch:receive()
      return { first.path, second.path }
    end }`,
    EVENTS,
  ),
  'app:closes': lua(
    `local events = require("events")
    return { main = function()
      local sub = assert(events.subscribe("a"))
      local ch = sub:channel()
      events.send("a", "k", "/before")
      local first = sub:close()
      local second = sub:close()
      local value, ok = ch:receive()
      events.send("a", "k", "/after")
      return { first = first, second = second, value = value, ok = ok }
    end }`,
    EVENTS,
  ),
  'app:subscribes_and_ends': lua(
    `local events = require("events")
    return { main = function(how)
      for i = 1, 3 do assert(events.subscribe("x" .. i)) end
      if how == "fails" then error("on purpose") end
      if how == "waits" then process.inbox():receive() end
      return "returned"
    end }`,
    EVENTS,
  ),
  'app:slow': lua(
    `local events = require("events")
    return { main = function(extra)
      local sub = assert(events.subscribe("flood"))
      for i = 1, ${EVENT_LIMITS.queuedPerSubscription} + extra do
        assert(events.send("flood", "tick", "/" .. i))
      end
      local ch, paths = sub:channel(), {}
      while true do
        local r = channel.select({ ch:case_receive(), default = true })
        if r.default then break end
        paths[#paths + 1] = r.value.path
      end
      return { received = #paths, first = paths[1], last = paths[#paths], dropped = sub:dropped() }
    end }`,
    EVENTS,
  ),
  'app:many': lua(
    `local events = require("events")
    return { main = function()
      for i = 1, ${EVENT_LIMITS.subscriptionsPerProcess} do assert(events.subscribe("s" .. i)) end
      local none, err = events.subscribe("one.more")
      return { none == nil, err:kind(), err:message() }
    end }`,
    EVENTS,
  ),
  'app:bad_arguments': lua(
    `local events = require("events")
    local function failure(value, err)
      assert(value == nil, "expected nil, got " .. tostring(value))
      return err:kind() .. ": " .. err:message()
    end
    return { main = function()
      return {
        failure(events.subscribe("")),
        failure(events.subscribe(nil)),
        failure(events.subscribe("a..b")),
        failure(events.subscribe("a", 7)),
        failure(events.subscribe("a", "k*")),
        failure(events.send("", "kind", "/path")),
        failure(events.send("system", "", "/path")),
        failure(events.send("system", "kind", "")),
        failure(events.send("system", "kind", nil)),
        failure(events.send("system", "kind", "/path", { f = function() end })),
      }
    end }`,
    EVENTS,
  ),
};

let node: Harness | undefined;
afterEach(() => {
  node?.close();
  node = undefined;
});

async function start(events = new EventBus()) {
  node = await harness(ENTRIES, { events });
  return { node, events };
}

describe('the events module', () => {
  it('delivers system, kind, path and a copy of the data of matching events, in the order sent', async () => {
    const { node } = await start();
    expect(await node.run('app:own_events')).toEqual({
      ok: true,
      value: {
        got: [
          {
            system: 'shop.orders',
            kind: 'order.created',
            path: '/orders/1',
            data: { n: 1, nested: { a: 'x' } },
          },
          { system: 'shop.orders', kind: 'order.paid', path: '/orders/1' },
          { system: 'shop.stock', kind: 'item.low', path: '/items/7', data: 5 },
        ],
        nothing_more: true,
      },
    });
  });

  it('filters by exact system and kind pattern, for events another process sends', async () => {
    const { node } = await start();
    expect(await node.run('app:kind_filter')).toEqual({
      ok: true,
      value: ['/orders/1', '/orders/3'],
    });
  });

  it('close() ends the subscription and closes its channel; closing twice is fine', async () => {
    const { node, events } = await start();
    expect(await node.run('app:closes')).toEqual({
      ok: true,
      value: { first: true, second: true, ok: false },
    });
    expect(events.size).toBe(0);
  });

  it('a process that returns, fails or is killed leaves no subscription behind', async () => {
    const { node, events } = await start();
    expect(await node.run('app:subscribes_and_ends', 'returns')).toMatchObject({ ok: true });
    expect(events.size).toBe(0);
    expect(await node.run('app:subscribes_and_ends', 'fails')).toMatchObject({ ok: false });
    expect(events.size).toBe(0);
    const pid = node.spawn('app:subscribes_and_ends', 'waits');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events.size).toBe(3);
    const running = node.system.process(pid);
    if (!running) throw new Error('the waiting process is gone');
    const exited = node.system.waitForExit(pid);
    node.system.kill(running, new LuactError('CANCELED', 'stopped by the test'));
    await exited;
    expect(events.size).toBe(0);
  });

  it('a subscriber that falls behind keeps the oldest events and counts the ones it missed', async () => {
    const { node } = await start();
    const limit = EVENT_LIMITS.queuedPerSubscription;
    expect(await node.run('app:slow', 5)).toEqual({
      ok: true,
      value: { received: limit, first: '/1', last: `/${limit}`, dropped: 5 },
    });
  });

  it('a process may hold a bounded number of subscriptions at once', async () => {
    const { node, events } = await start();
    const limit = EVENT_LIMITS.subscriptionsPerProcess;
    expect(await node.run('app:many')).toEqual({
      ok: true,
      value: [
        true,
        'RateLimited',
        `events.subscribe: this process has ${limit} subscriptions open, the most one process may have (close some)`,
      ],
    });
    expect(events.size).toBe(0);
  });

  it('refuses bad arguments with INVALID errors that say what is wrong', async () => {
    const { node } = await start();
    const result = await node.run('app:bad_arguments');
    expect(result.ok).toBe(true);
    expect(result.value).toEqual([
      'Invalid: events.subscribe: the system pattern must be a non-empty string',
      'Invalid: events.subscribe: the system pattern must be a non-empty string',
      'Invalid: events.subscribe: pattern "a..b" has an empty segment (two dots, or a dot at an end)',
      'Invalid: events.subscribe: the kind pattern must be a string or nil',
      'Invalid: events.subscribe: pattern "k*": "k*" mixes a wildcard with text; a segment is a name, *, ** or (a|b)',
      'Invalid: events.send: the system must be a non-empty string',
      'Invalid: events.send: the kind must be a non-empty string',
      'Invalid: events.send: the path must be a non-empty string',
      'Invalid: events.send: the path must be a non-empty string',
      expect.stringMatching(/^Invalid: events\.send: the data cannot be sent: /),
    ]);
  });
});
