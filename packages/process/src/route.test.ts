import { LuactError } from '@luact/core';
import { decodeValue, encodeValues } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExternalHost } from './external-host.js';
import type { Pid } from './pid.js';
import { type Harness, harness, lua } from './testing/system-harness.js';
import type { Envelope, Signal } from './transport.js';

// One router decides where mail and signals go (issue 10 §0): each kind of address, and what
// send and signal do with it.

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/** A journaling host stand-in: records what reaches it, accepts after a tick. */
function recordingHost() {
  const sent: Envelope[] = [];
  const signals: Signal[] = [];
  const host: ExternalHost = {
    spawn: () => Promise.reject(new LuactError('INVALID', 'not in this test')),
    send: async (envelope) => {
      await new Promise((resolve) => setImmediate(resolve));
      sent.push(envelope);
    },
    signal: async (signal) => {
      signals.push(signal);
    },
    watch: () => Promise.resolve(),
  };
  return { host, sent, signals };
}

const payload = encodeValues([1]);

describe('the router', () => {
  it('names where each kind of address leads', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:waiter': lua('return { main = function() process.listen("go"):receive() end }'),
    });
    const { host } = recordingHost();
    h.system.addExternalHost('app:flows', host);
    const live = h.spawn('app:waiter');
    const inbox = h.system.openInbox(() => {});

    expect(h.system.route(live).kind).toBe('process');
    expect(h.system.route(inbox.pid).kind).toBe('inbox');
    expect(h.system.route('{app:flows|order-1}' as Pid)).toEqual({ kind: 'external', host });
    expect(h.system.route('{other@app:processes|1}' as Pid)).toEqual({
      kind: 'remote',
      node: 'other',
    });
    expect(h.system.route('{app:processes|999}' as Pid).kind).toBe('nowhere');
    inbox.close();
    expect(h.system.route(inbox.pid).kind).toBe('nowhere');
  });

  it('finds a live process by its whole PID, not by the number in it', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:other': { kind: 'process.host' },
      'app:waiter': lua('return { main = function() process.listen("go"):receive() end }'),
    });
    const { host } = recordingHost();
    h.system.addExternalHost('app:flows', host);
    const live = h.spawn('app:waiter');
    const number = live.slice(live.lastIndexOf('|') + 1, -1);
    expect(h.system.process(live)?.pid).toBe(live);
    // The same number under another host, node or shape names another process, or none.
    expect(h.system.route(`{app:other|${number}}` as Pid).kind).toBe('nowhere');
    expect(h.system.route(`{app:flows|${number}}` as Pid)).toEqual({ kind: 'external', host });
    expect(h.system.route(`{other@app:processes|${number}}` as Pid).kind).toBe('remote');
    expect(h.system.route(`{app:processes|0${number}}` as Pid).kind).toBe('nowhere');
    expect(h.system.route(`app:processes|${number}}` as Pid).kind).toBe('nowhere');
    expect(h.system.process(`{app:processes|${number}`)).toBeUndefined();
    expect(h.system.processesOf('app:processes').map((p) => p.pid)).toEqual([live]);
    expect(h.system.processesOf('app:other')).toEqual([]);
  });

  it('sends to a journaling host through the same send: a promise that settles once it took it', async () => {
    h = await harness({ 'app:processes': { kind: 'process.host' } });
    const { host, sent } = recordingHost();
    h.system.addExternalHost('app:flows', host);
    const to = '{app:flows|order-1}' as Pid;
    const delivery = h.system.send({ to, from: undefined, topic: 'go', payload, origin: 'w#1:3' });
    expect(delivery).toBeInstanceOf(Promise);
    expect(sent).toEqual([]);
    await delivery;
    expect(sent).toEqual([{ to, from: undefined, topic: 'go', payload, origin: 'w#1:3' }]);
  });

  it('routes cancel and terminate to a journaling host, and refuses it the end of a process', async () => {
    h = await harness({ 'app:processes': { kind: 'process.host' } });
    const { host, signals } = recordingHost();
    h.system.addExternalHost('app:flows', host);
    const to = '{app:flows|order-1}' as Pid;
    await h.system.signal({ kind: 'cancel', to, from: undefined, at: 0n, reason: 'enough' });
    await h.system.signal({ kind: 'terminate', to, from: undefined });
    expect(signals.map((signal) => signal.kind)).toEqual(['cancel', 'terminate']);
    const refused = h.system.signal({
      kind: 'exit',
      to,
      from: '{app:processes|1}' as Pid,
      at: 0n,
      outcome: { ok: true, value: payload },
    });
    expect(refused).toBeInstanceOf(LuactError);
    expect((refused as LuactError).kind).toBe('NOT_FOUND');
  });

  it('refuses mail for an address that leads nowhere, and Lua sees nil, NOT_FOUND', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:main': lua(`return { main = function()
        local ok, err = process.send("{app:processes|999}", "hello", 1)
        return { ok = ok, kind = err and err:kind() }
      end }`),
    });
    const direct = h.system.send({
      to: '{app:processes|999}' as Pid,
      from: undefined,
      topic: 't',
      payload,
    });
    expect((direct as LuactError).kind).toBe('NOT_FOUND');
    const outcome = await h.system.waitForExit(h.spawn('app:main'));
    expect(outcome.ok && decodeValue(outcome.value)).toEqual({ kind: 'NotFound' });
  });

  it('lets Lua send to a journaling host and get true once it took the message', async () => {
    h = await harness({
      'app:processes': { kind: 'process.host' },
      'app:main': lua(`return { main = function()
        return process.send("{app:flows|order-1}", "go", 1)
      end }`),
    });
    const { host, sent } = recordingHost();
    h.system.addExternalHost('app:flows', host);
    const outcome = await h.system.waitForExit(h.spawn('app:main'));
    expect(outcome.ok && decodeValue(outcome.value)).toBe(true);
    expect(sent.map((envelope) => envelope.topic)).toEqual(['go']);
  });
});
