import { LuactError } from '@luact/core';
import { decodeValue } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { Node } from './node.js';
import { writeApp } from './testing/app.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

/** Processes that answer calls in different ways. */
const APP = `
namespace: app
entries:
  - name: greeter
    kind: process.lua
    source: |
      return { main = function()
        local inbox = process.inbox()
        while true do
          local msg = inbox:receive()
          if msg:topic() == "stop" then return "stopped" end
          process.send(msg:from(), "greeting", "hello, " .. msg:payload():data())
        end
      end }
  - name: silent
    kind: process.lua
    source: |
      return { main = function()
        local msg = process.inbox():receive()
        -- Answers only once told to, which the tests do after the call has ended.
        process.listen("go"):receive()
        local ok, err = process.send(msg:from(), "late", "too late")
        return { ok = ok, kind = err and err:kind() }
      end }
  - name: quitter
    kind: process.lua
    source: |
      return { main = function()
        local msg = process.inbox():receive()
        if msg:payload():data() == "fail" then error("cannot answer that") end
        return "gone"
      end }
  - name: named
    kind: process.lua
    source: |
      return { main = function()
        local msg = process.inbox():receive()
        process.send(msg:from(), "me", process.pid())
      end }
`;

/** A node of `app` (by default the processes above), stopped and removed after the test. */
async function start(definitions = APP) {
  const app = await writeApp({ 'app.yaml': definitions });
  cleanups.push(app.remove);
  const node = await Node.start({ dir: app.dir, env: {} });
  cleanups.push(async () => void (await node.stop()));
  return node;
}

async function rejection(promise: Promise<unknown>): Promise<LuactError> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LuactError);
  return error as LuactError;
}

describe('Node.call', () => {
  it('resolves with the value a process sends back to msg:from(), by name or PID', async () => {
    const node = await start();
    const pid = await node.spawn('app:greeter', [], { name: 'greeter' });
    expect(await node.call('greeter', 'greet', 'ada')).toBe('hello, ada');
    expect(await node.call(pid, 'greet', 'bob', { timeoutMs: 10_000 })).toBe('hello, bob');
    // Each call has its own reply address; concurrent calls do not see each other's replies.
    const both = await Promise.all([
      node.call('greeter', 'greet', 'cy'),
      node.call('greeter', 'greet', 'di'),
    ]);
    expect(both).toEqual(['hello, cy', 'hello, di']);
  });

  it('rejects TIMEOUT naming the target and topic, and closes the reply inbox', async () => {
    const node = await start();
    const pid = await node.spawn('app:silent', [], { name: 'silent' });
    const error = await rejection(node.call('silent', 'ask', 1, { timeoutMs: 50 }));
    expect(error.kind).toBe('TIMEOUT');
    expect(error.message).toBe(`silent (${pid}) did not reply to "ask" within 50 ms`);
    expect(error.details).toMatchObject({ target: 'silent', pid, topic: 'ask' });
    // A reply after the call ended reaches nobody: its sender is told the address is gone.
    const exit = node.system.waitForExit(pid);
    await node.send(pid, 'go');
    const outcome = await exit;
    expect(outcome.ok && decodeValue(outcome.value)).toEqual({ kind: 'NotFound' });
  });

  it('rejects NOT_FOUND for an unknown name or an ended process, without waiting', async () => {
    const node = await start();
    const byName = await rejection(node.call('nobody', 'ask', 1, { timeoutMs: 60_000 }));
    expect(byName.kind).toBe('NOT_FOUND');
    expect(byName.message).toBe('no process is registered as "nobody"');
    const pid = await node.spawn('app:greeter');
    const exit = node.system.waitForExit(pid);
    await node.send(pid, 'stop');
    await exit;
    const ended = await rejection(node.call(pid, 'greet', 'x', { timeoutMs: 60_000 }));
    expect(ended.kind).toBe('NOT_FOUND');
    expect(ended.message).toBe(`process ${pid} not found: it does not exist or has ended`);
  });

  it('rejects UNAVAILABLE with how the process ended when it ends before replying', async () => {
    const node = await start();
    const failed = await node.spawn('app:quitter');
    const error = await rejection(node.call(failed, 'ask', 'fail', { timeoutMs: 60_000 }));
    expect(error.kind).toBe('UNAVAILABLE');
    expect(error.message).toContain(`${failed} ended before replying to "ask": it failed: `);
    expect(error.message).toContain('cannot answer that');
    expect(error.details).toMatchObject({ pid: failed, exit: { ok: false } });

    const returned = await node.spawn('app:quitter');
    const normal = await rejection(node.call(returned, 'ask', 'bye', { timeoutMs: 60_000 }));
    expect(normal.kind).toBe('UNAVAILABLE');
    expect(normal.message).toBe(`${returned} ended before replying to "ask": it returned`);
    expect(normal.details).toMatchObject({ exit: { ok: true, value: 'gone' } });
  });

  it('rejects CANCELED when the node stops before the reply, and refuses calls after', async () => {
    const node = await start();
    await node.spawn('app:silent', [], { name: 'silent' });
    const waiting = rejection(node.call('silent', 'ask', 1, { timeoutMs: 60_000 }));
    await node.stop();
    const error = await waiting;
    expect(error.kind).toBe('CANCELED');
    expect(error.message).toContain('the node is stopping');
    expect((await rejection(node.call('silent', 'ask', 1))).kind).toBe('CANCELED');
  });

  it('asks a workflow too: the message is journaled, and its reply comes back', async () => {
    const node = await start(`
namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: asked
    kind: workflow.lua
    source: |
      return { main = function()
        local msg = process.inbox():receive()
        process.send(msg:from(), "answer", "noted: " .. msg:payload():data())
        return "done"
      end }
`);
    const pid = await node.workflows.start('app:asked', [], { id: 'asked-1' });
    expect(await node.call(pid, 'note', 'milk', { timeoutMs: 20_000 })).toBe('noted: milk');
  });

  it('sends to a workflow with node.send: resolved once journaled, as a process gets it', async () => {
    const node = await start(`
namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: waiting
    kind: workflow.lua
    source: |
      return { main = function()
        return process.listen("go"):receive()
      end }
`);
    const pid = await node.workflows.start('app:waiting', [], { id: 'waiting-1' });
    await node.send(pid, 'go', 'ahead');
    const history = await node.workflows.history('waiting-1');
    expect(JSON.stringify(history)).toContain('"topic":"go"');
    for (let i = 0; i < 200 && (await node.workflows.show('waiting-1')).status !== 'completed'; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await node.workflows.show('waiting-1')).toMatchObject({
      status: 'completed',
      ended: { value: 'ahead' },
    });
    const gone = await rejection(node.send('{app:flows|nobody}', 'go', 1));
    expect(gone.kind).toBe('NOT_FOUND');
  });

  it('spawns on a workflow host with node.spawn: a workflow named by its ID, journaled', async () => {
    const node = await start(`
namespace: app
entries:
  - name: flows
    kind: workflow.host
  - name: doubler
    kind: workflow.lua
    source: |
      return { main = function(n) return n * 2 end }
`);
    const pid = await node.spawn('app:doubler', [21], { host: 'app:flows', name: 'double-1' });
    expect(pid).toBe('{app:flows|double-1}');
    for (let i = 0; i < 200 && (await node.workflows.show('double-1')).status !== 'completed'; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await node.workflows.show('double-1')).toMatchObject({
      status: 'completed',
      ended: { value: 42 },
    });
    const missing = await rejection(node.spawn('app:nothing', [], 'app:flows'));
    expect(missing.kind).toBe('NOT_FOUND');
  });

  it('ends with the reason of an aborted signal, and refuses a bad timeout', async () => {
    const node = await start();
    await node.spawn('app:silent', [], { name: 'silent' });
    const controller = new AbortController();
    const waiting = rejection(node.call('silent', 'ask', 1, { signal: controller.signal }));
    controller.abort(new LuactError('CANCELED', 'the user gave up'));
    expect((await waiting).message).toBe('the user gave up');
    const invalid = await rejection(node.call('silent', 'ask', 1, { timeoutMs: -1 }));
    expect(invalid.kind).toBe('INVALID');
  });
});

describe('Node.spawn with a name', () => {
  it('registers the name before the process runs, so it is addressable as spawn returns', async () => {
    const node = await start();
    const pid = await node.spawn('app:named', [], { name: 'first' });
    expect(node.system.names.lookup('first')).toBe(pid);
    expect(await node.call('first', 'who', null)).toBe(pid);
  });

  it('refuses a name that is taken, and releases the name when the process ends', async () => {
    const node = await start();
    const pid = await node.spawn('app:named', [], { name: 'only' });
    const taken = await node.spawn('app:named', [], { name: 'only' }).then(
      () => undefined,
      (error: unknown) => error as LuactError,
    );
    expect(taken?.kind).toBe('ALREADY_EXISTS');
    expect(taken?.message).toBe(`name "only" is already registered by ${pid}`);
    const exit = node.system.waitForExit(pid);
    await node.call('only', 'who', null);
    await exit;
    expect(node.system.names.lookup('only')).toBeUndefined();
    expect(await node.spawn('app:named', [], { name: 'only' })).not.toBe(pid);
  });

  it('still takes the host as the third argument', async () => {
    const node = await start();
    const pid = await node.spawn('app:named', [], 'luact:main');
    expect(await node.call(pid, 'who', null)).toBe(pid);
  });
});
