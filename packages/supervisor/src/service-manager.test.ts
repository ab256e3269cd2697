import { afterEach, describe, expect, it } from 'vitest';
import { eventually, type Harness, harness, transitions, WORKER } from './testing/harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

const HOST = { 'app:processes': { kind: 'process.host' } };
const worker = { kind: 'process.lua', source: WORKER };
const service = (name: string, requires: string[] = [], autoStart = true) => ({
  kind: 'process.service',
  process: 'app:worker',
  host: 'app:processes',
  input: [name],
  lifecycle: { auto_start: autoStart, requires, stop_timeout: '2s' },
});

describe('services in dependency order', () => {
  it('starts a diamond from the bottom up, the middle together, and stops it top down', async () => {
    h = await harness({
      ...HOST,
      'app:worker': worker,
      'app:base': service('base'),
      'app:left': service('left', ['base']),
      'app:right': service('right', ['base']),
      'app:top': service('top', ['left', 'right']),
    });
    const started = await h.manager.start();
    expect(started.map((s) => s.state)).toEqual(['running', 'running', 'running', 'running']);
    const up = transitions(h.logs).filter((line) => line.endsWith(':running'));
    expect(up[0]).toBe('app:base:running');
    expect(up.slice(1, 3).sort()).toEqual(['app:left:running', 'app:right:running']);
    expect(up[3]).toBe('app:top:running');

    h.logs.length = 0;
    const stopped = await h.manager.stop();
    expect(stopped.terminated).toEqual([]);
    const down = transitions(h.logs).filter((line) => line.endsWith(':stopped'));
    expect(down[0]).toBe('app:top:stopped');
    expect(down.slice(1, 3).sort()).toEqual(['app:left:stopped', 'app:right:stopped']);
    expect(down[3]).toBe('app:base:stopped');
  });

  it('starts what an auto_start service needs even when that is not auto_start itself', async () => {
    h = await harness({
      ...HOST,
      'app:worker': worker,
      'app:db': service('db', [], false),
      'app:api': service('api', ['db']),
    });
    await h.manager.start();
    expect(h.manager.list().map((s) => [s.id, s.state])).toEqual([
      ['app:api', 'running'],
      ['app:db', 'running'],
    ]);
  });

  it('keeps a service waiting, visibly, while its dependency has failed', async () => {
    h = await harness({
      ...HOST,
      'app:worker': worker,
      'app:broken': {
        kind: 'process.lua',
        source:
          'return { main = function() error(errors.new{ message = "no db", kind = errors.INVALID }) end }',
      },
      'app:db': {
        kind: 'process.service',
        process: 'app:broken',
        host: 'app:processes',
        lifecycle: { auto_start: true },
      },
      'app:api': service('api', ['db']),
    });
    await h.manager.start();
    expect(h.manager.status('app:db')).toMatchObject({ state: 'failed', lastError: 'no db' });
    expect(h.manager.status('app:api')).toMatchObject({
      state: 'starting',
      waitingFor: ['app:db'],
    });
  });
});

describe('stopping', () => {
  it('terminates a service that ignores CANCEL after its stop_timeout and names it', async () => {
    h = await harness({
      ...HOST,
      'app:worker': worker,
      'app:stubborn': {
        kind: 'process.lua',
        source: `return { main = function()
          local events = process.events()
          while true do events:receive() end
        end }`,
      },
      'app:db': service('db'),
      'app:jammed': {
        kind: 'process.service',
        process: 'app:stubborn',
        host: 'app:processes',
        lifecycle: { auto_start: true, requires: ['db'], stop_timeout: '50ms' },
      },
    });
    await h.manager.start();
    const stopped = await h.manager.stop();
    expect(stopped.terminated).toEqual(['app:jammed']);
    expect(h.manager.status('app:jammed')?.state).toBe('stopped');
    expect(h.manager.status('app:db')?.state).toBe('stopped');
  });
});

describe('OTP supervisors', () => {
  const tree = (strategy: string) => ({
    ...HOST,
    'app:worker': worker,
    'app:tree': {
      kind: 'process.supervisor',
      host: 'app:processes',
      strategy,
      max_restarts: 5,
      period: '10s',
      children: [
        { id: 'a', process: 'app:worker', input: ['a'] },
        { id: 'b', process: 'app:worker', input: ['b'] },
        { id: 'c', process: 'app:worker', input: ['c'] },
      ],
      lifecycle: { auto_start: true },
    },
  });

  async function crash(name: string): Promise<Record<string, string>> {
    const t = h as Harness;
    const before = Object.fromEntries(
      ['a', 'b', 'c'].map((n) => [n, t.system.names.lookup(n) as string]),
    );
    const victim = t.system.process(before[name] as string);
    if (!victim) throw new Error(`no process ${name}`);
    t.system.kill(victim, new (await import('@luact/core')).LuactError('INTERNAL', 'crash'));
    await eventually(
      () =>
        ['a', 'b', 'c'].every((n) => t.system.names.lookup(n) !== undefined) &&
        t.system.names.lookup(name) !== before[name],
      `${name} is back`,
    );
    return before;
  }

  it('one_for_all restarts every child when one fails', async () => {
    h = await harness(tree('one_for_all'));
    await h.manager.start();
    const before = await crash('b');
    await eventually(
      () => ['a', 'c'].every((n) => h?.system.names.lookup(n) !== before[n]),
      'a and c restarted',
    );
  });

  it('rest_for_one restarts the failed child and the ones after it, not the ones before', async () => {
    h = await harness(tree('rest_for_one'));
    await h.manager.start();
    const before = await crash('b');
    await eventually(() => h?.system.names.lookup('c') !== before.c, 'c restarted');
    expect(h.system.names.lookup('a')).toBe(before.a);
  });

  it('one_for_one restarts only the failed child', async () => {
    h = await harness(tree('one_for_one'));
    await h.manager.start();
    const before = await crash('b');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([h.system.names.lookup('a'), h.system.names.lookup('c')]).toEqual([before.a, before.c]);
  });

  it('escalates exceeded restart intensity to the parent supervisor', async () => {
    h = await harness({
      ...HOST,
      'app:flaky': {
        kind: 'process.lua',
        modules: ['time'],
        source:
          'local time = require("time") return { main = function() time.sleep("5ms") error("flaky child") end }',
      },
      'app:inner': {
        kind: 'process.supervisor',
        host: 'app:processes',
        max_restarts: 2,
        period: '10s',
        children: [{ id: 'flaky', process: 'app:flaky' }],
      },
      'app:outer': {
        kind: 'process.supervisor',
        host: 'app:processes',
        max_restarts: 1,
        period: '10s',
        children: [{ id: 'inner', supervisor: 'app:inner' }],
        lifecycle: { auto_start: true, restart: { max_attempts: 1, initial_delay: '10ms' } },
      },
    });
    h.manager.start();
    await eventually(
      () => h?.manager.status('app:outer')?.state === 'failed',
      'the outer supervisor fails',
      10_000,
    );
    const escalations = h.logs.filter(
      (r) => r.message === 'supervisor child exited' && r.fields.child === 'inner',
    );
    expect(escalations.length).toBeGreaterThan(0);
    expect(String(escalations[0]?.fields.error)).toMatch(
      /supervisor app:outer\/inner: more than 2 restarts within 10000 ms/,
    );
    expect(h.manager.status('app:outer')?.lastError).toMatch(
      /supervisor app:outer: more than 1 restarts within 10000 ms/,
    );
  });
});
