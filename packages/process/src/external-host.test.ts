import { LuactError } from '@luact/core';
import { decodeValues, encodeValue } from '@luact/lua';
import { afterEach, expect, it } from 'vitest';
import type { ExternalHost, ExternalSpawnRequest } from './external-host.js';
import type { Pid } from './pid.js';
import { type Harness, harness, lua } from './testing/system-harness.js';
import type { Envelope, ExitOutcome, Signal } from './transport.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/**
 * A stand-in for a workflow host: it answers every operation a few milliseconds later (as a
 * journal append would) and lets the test end its processes.
 */
class SlowHost implements ExternalHost {
  readonly spawned: ExternalSpawnRequest[] = [];
  readonly received: { to: string; topic: string; values: unknown[] }[] = [];
  readonly signals: Signal[] = [];
  private readonly live = new Set<string>();
  private readonly watchers = new Map<string, ((outcome: ExitOutcome) => void)[]>();

  async spawn(request: ExternalSpawnRequest): Promise<Pid> {
    await later();
    this.spawned.push(request);
    const pid = `{app:flows|${request.name ?? `wf-${this.spawned.length}`}}` as Pid;
    this.live.add(pid);
    return pid;
  }

  async send(envelope: Envelope): Promise<void> {
    await later();
    this.require(envelope.to);
    this.received.push({
      to: envelope.to,
      topic: envelope.topic,
      values: decodeValues(envelope.payload),
    });
  }

  async signal(signal: Extract<Signal, { kind: 'cancel' | 'terminate' }>): Promise<void> {
    await later();
    this.require(signal.to);
    this.signals.push(signal);
  }

  async watch(pid: Pid, onExit: (outcome: ExitOutcome) => void): Promise<void> {
    await later();
    this.require(pid);
    this.watchers.set(pid, [...(this.watchers.get(pid) ?? []), onExit]);
  }

  watched(pid: string): boolean {
    return this.watchCount(pid) > 0;
  }

  watchCount(pid: string): number {
    return this.watchers.get(pid)?.length ?? 0;
  }

  finish(pid: string, value: unknown): void {
    this.end(pid, { ok: true, value: encodeValue(value) });
  }

  fail(pid: string, error: LuactError): void {
    this.end(pid, { ok: false, error });
  }

  private end(pid: string, outcome: ExitOutcome): void {
    this.live.delete(pid);
    for (const onExit of this.watchers.get(pid) ?? []) onExit(outcome);
  }

  private require(pid: string): void {
    if (!this.live.has(pid))
      throw new LuactError('NOT_FOUND', `workflow ${pid} does not exist`, { retryable: false });
  }
}

const later = () => new Promise((resolve) => setTimeout(resolve, 5));

async function withHost(main: string) {
  h = await harness({ 'app:processes': { kind: 'process.host' }, 'app:main': lua(main) });
  const host = new SlowHost();
  h.system.addExternalHost('app:flows', host);
  return { t: h, host };
}

it('waits for a spawn on an external host and for its messages to be accepted', async () => {
  const { t, host } = await withHost(`return { main = function()
    local pid = process.with_name("order-7"):with_message("hello", 1):spawn("app:flow", "app:flows", "x")
    local ok = process.send(pid, "approve", "yes", 2)
    local missing, err = process.send("{app:flows|nobody}", "approve")
    return { pid = pid, ok = ok, missing = missing == nil, kind = err:kind() }
  end }`);
  expect(await t.run('app:main')).toEqual({
    ok: true,
    value: { pid: '{app:flows|order-7}', ok: true, missing: true, kind: 'NotFound' },
  });
  expect(host.spawned).toMatchObject([
    { entry: 'app:flow', name: 'order-7', parent: expect.any(String) },
  ]);
  expect(decodeValues(host.spawned[0]?.args ?? new Uint8Array())).toEqual(['x']);
  expect(host.spawned[0]?.messages?.map((m) => m.topic)).toEqual(['hello']);
  expect(host.received).toEqual([
    { to: '{app:flows|order-7}', topic: 'approve', values: ['yes', 2] },
  ]);
});

it('delivers EXIT to a process monitoring an external process, and exec waits for its value', async () => {
  const { t, host } = await withHost(`return { main = function()
    local pid = process.spawn_monitored("app:flow", "app:flows")
    local event = process.events():receive()
    return { kind = event.kind, from = event.from == pid, value = event.result.value }
  end }`);
  const run = t.run('app:main');
  for (let i = 0; i < 200 && !host.watched('{app:flows|wf-1}'); i++) await later();
  host.finish('{app:flows|wf-1}', 'done');
  expect(await run).toEqual({ ok: true, value: { kind: 'EXIT', from: true, value: 'done' } });
});

it('routes cancel and terminate to an external process', async () => {
  const { t, host } = await withHost(`return { main = function()
    local pid = process.spawn("app:flow", "app:flows")
    local cancelled = process.cancel(pid, "enough")
    local terminated = process.terminate(pid)
    return { cancelled = cancelled, terminated = terminated }
  end }`);
  expect(await t.run('app:main')).toEqual({
    ok: true,
    value: { cancelled: true, terminated: true },
  });
  expect(host.signals.map((s) => [s.kind, s.kind === 'cancel' ? s.reason : undefined])).toEqual([
    ['cancel', 'enough'],
    ['terminate', undefined],
  ]);
});

it('links a process to an external process one way (spawn_linked or link): its failure is LINK_DOWN, its success and an unlinked one nothing', async () => {
  const { t, host } = await withHost(`return { main = function()
    process.set_options({ trap_links = true })
    local failing = process.spawn_linked("app:flow", "app:flows")
    local finishing = process.spawn("app:flow", "app:flows")
    local unlinked = process.spawn("app:flow", "app:flows")
    assert(process.link(finishing) == true)
    assert(process.link(unlinked) == true and process.unlink(unlinked) == true)
    local event = process.events():receive()
    return { kind = event.kind, failing = event.from == failing, message = event.result.error:message() }
  end }`);
  const run = t.run('app:main');
  // Ready once the third link was made (its watch is there) and undone: the process is then
  // in receive, holding the other two.
  const [failing, finishing, unlinked] = [
    '{app:flows|wf-1}',
    '{app:flows|wf-2}',
    '{app:flows|wf-3}',
  ];
  const ready = () =>
    t.system
      .processesOf('app:processes')
      .some(
        (p) =>
          host.watchCount(unlinked) > 0 &&
          p.links.has(failing as Pid) &&
          p.links.has(finishing as Pid) &&
          !p.links.has(unlinked as Pid),
      );
  for (let i = 0; i < 400 && !ready(); i++) await later();
  host.fail(unlinked, new LuactError('CONFLICT', 'unlinked and failed'));
  host.finish(finishing, 'done');
  host.fail(failing, new LuactError('CONFLICT', 'stock changed'));
  expect(await run).toEqual({
    ok: true,
    value: { kind: 'LINK_DOWN', failing: true, message: 'stock changed' },
  });
});

it('watches an external process once per process however often it monitors and links it', async () => {
  const { t, host } = await withHost(`return { main = function()
    local pid = process.spawn("app:flow", "app:flows")
    for _ = 1, 20 do
      assert(process.monitor(pid) and process.unmonitor(pid))
      assert(process.link(pid) and process.unlink(pid))
    end
    assert(process.monitor(pid))
    local event = process.events():receive()
    return { kind = event.kind, value = event.result.value }
  end }`);
  const run = t.run('app:main');
  for (let i = 0; i < 400 && host.watchCount('{app:flows|wf-1}') === 0; i++) await later();
  // Give the loop time to finish its 80 calls before looking.
  for (let i = 0; i < 20; i++) await later();
  expect(host.watchCount('{app:flows|wf-1}')).toBe(1);
  host.finish('{app:flows|wf-1}', 'done');
  expect(await run).toEqual({ ok: true, value: { kind: 'EXIT', value: 'done' } });
});

it('fails a process that does not trap links when a linked external process fails', async () => {
  const { t, host } = await withHost(`return { main = function()
    local pid = process.spawn("app:flow", "app:flows")
    process.link(pid)
    process.inbox():receive()
  end }`);
  const run = t.run('app:main');
  for (let i = 0; i < 200 && !host.watched('{app:flows|wf-1}'); i++) await later();
  host.fail('{app:flows|wf-1}', new LuactError('CONFLICT', 'stock changed'));
  expect(await run).toMatchObject({
    ok: false,
    error: { kind: 'UNAVAILABLE', message: expect.stringContaining('stock changed') },
  });
});

it('gives fibers waiting at once each its own answer, and keeps nothing per answer after', async () => {
  const { t, host } = await withHost(`return { main = function()
    local pid = process.spawn("app:flow", "app:flows")
    local results = channel.new(2)
    for f = 1, 2 do
      coroutine.spawn(function()
        local got = {}
        for i = 1, 20 do
          -- Fiber 2 sends to a workflow that does not exist: its answers are errors.
          local ok, err = process.send(f == 1 and pid or "{app:flows|nobody}", "n", f, i)
          got[i] = ok and "ok" or err:kind()
        end
        results:send({ f = f, got = got })
      end)
    end
    local a, b = results:receive(), results:receive()
    if a.f == 2 then a, b = b, a end
    return { first = a.got, second = b.got }
  end }`);
  const ok = Array.from({ length: 20 }, () => 'ok');
  const missing = Array.from({ length: 20 }, () => 'NotFound');
  expect(await t.run('app:main')).toEqual({ ok: true, value: { first: ok, second: missing } });
  expect(host.received.map((m) => m.values)).toEqual(
    Array.from({ length: 20 }, (_, i) => [1, i + 1]),
  );
  expect(t.system.pending.size).toBe(0);
});
