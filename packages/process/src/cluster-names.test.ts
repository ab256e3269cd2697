import { decodeValue, decodeValues } from '@luact/lua';
import { afterEach, describe, expect, it } from 'vitest';
import { InProcessNetwork } from './testing/in-process-network.js';
import { SharedNames } from './testing/shared-names.js';
import { type Harness, harness, lua } from './testing/system-harness.js';

// What the process system does with cluster names, whoever implements them: the scopes of
// process.registry, lookups (local first), sends by name, release on exit, revocation. The
// NATS implementation has its own tests in @luact/nats.

const ENTRIES = {
  'app:processes': { kind: 'process.host' },
  // Registers `name` in `scope`, says so to `parent`, then answers every message until "stop";
  // a CANCEL ends it with the reason.
  'app:holder': lua(`return { main = function(name, scope, parent)
    local ok, err = process.registry.register(name, nil, scope)
    process.send(parent, "registered", ok and "ok" or (err:kind() .. ": " .. err:message()))
    if not ok then return "refused" end
    local inbox, events = process.inbox(), process.events()
    while true do
      local r = channel.select({ inbox:case_receive(), events:case_receive() })
      if r.channel == events then return r.value.reason end
      local msg = r.value
      if msg:topic() == "stop" then return "stopped" end
      process.send(msg:from(), "answer", { by = process.pid(), data = msg:payload():data() })
    end
  end }`),
  'app:asker': lua(`return { main = function(name)
    local pid, err = process.registry.lookup(name)
    if pid == nil then return { err = err:kind() } end
    assert(process.send(name, "ask", 42))
    local answer = process.inbox():receive():payload():data()
    return { pid = pid, by = answer.by, data = answer.data }
  end }`),
};

let nodes: Harness[] = [];

afterEach(() => {
  for (const node of nodes) node.close();
  nodes = [];
});

async function cluster(...names: string[]): Promise<Harness[]> {
  const network = new InProcessNetwork();
  const shared = new SharedNames();
  nodes = await Promise.all(
    names.map((node, i) =>
      harness(ENTRIES, {
        transport: network.transport({ node, incarnation: 10 + i }),
        names: shared.forNode(),
      }),
    ),
  );
  return nodes;
}

/** Spawns a holder of `name` on `node` and resolves with what its registration answered. */
async function hold(node: Harness, name: string, scope = 'cluster') {
  const answers: string[] = [];
  const inbox = node.system.openInbox((envelope) => {
    answers.push(String(decodeValues(envelope.payload)[0]));
  });
  const pid = node.spawn('app:holder', name, scope, inbox.pid);
  await expect.poll(() => answers.length, { timeout: 10_000 }).toBe(1);
  inbox.close();
  return { pid, answer: answers[0] };
}

describe('process.registry scopes', () => {
  it('on a standalone node a cluster name is a local name; a bad scope is INVALID', async () => {
    const t = await harness({
      'app:processes': { kind: 'process.host' },
      'app:main': lua(`return { main = function()
        local R = process.registry
        assert(R.LOCAL == "local" and R.CLUSTER == "cluster")
        assert(R.register("desk", nil, R.CLUSTER))
        local found = R.lookup("desk") == process.pid()
        local ok, taken = R.register("desk", process.spawn("app:main", "app:processes"), R.LOCAL)
        local bad, invalid = R.register("other", nil, "global")
        local gone = R.unregister("desk", R.CLUSTER)
        local _, missing = R.lookup("desk")
        local _, bad_release = R.unregister("desk", 7)
        return { found, taken:kind(), invalid:kind(), invalid:message(), gone, missing:kind(),
          bad_release:kind() }
      end }`),
    });
    nodes = [t];
    const result = await t.run('app:main');
    expect(result).toEqual({
      ok: true,
      value: [
        true,
        'AlreadyExists',
        'Invalid',
        'process.registry.register: unknown name scope "global" (process.registry.LOCAL or process.registry.CLUSTER)',
        true,
        'NotFound',
        'Invalid',
      ],
    });
  });
});

describe('cluster names across nodes', () => {
  it('a name registered on one node is found, and reached by send, from another; it goes when its holder ends', async () => {
    const [a, b] = (await cluster('a', 'b')) as [Harness, Harness];
    const { pid, answer } = await hold(b, 'desk');
    expect(answer).toBe('ok');
    expect(a.system.lookupName('desk')).toBe(pid);
    expect(await a.run('app:asker', 'desk')).toEqual({
      ok: true,
      value: { pid, by: pid, data: 42 },
    });
    // The same name on another node: ALREADY_EXISTS naming the holder.
    expect((await hold(a, 'desk')).answer).toBe(
      `AlreadyExists: cluster name "desk" is already registered by ${pid}`,
    );
    b.system.send({ to: pid, from: undefined, topic: 'stop', payload: new Uint8Array([0x90]) });
    await b.system.waitForExit(pid);
    expect(await a.run('app:asker', 'desk')).toEqual({ ok: true, value: { err: 'NotFound' } });
  });

  it('a name of a holder known to have ended leads nowhere, before its release reached the table', async () => {
    const [a, b] = (await cluster('a', 'b')) as [Harness, Harness];
    const { pid } = await hold(b, 'kiosk');
    const seen = a.system.openInbox(() => {});
    const ended = new Promise((resolve) => seen.watch(pid, resolve));
    b.system.send({ to: pid, from: undefined, topic: 'stop', payload: new Uint8Array([0x90]) });
    await b.system.waitForExit(pid);
    // On its own node at once; on another once the end of the holder reached it.
    expect(b.system.lookupName('kiosk')).toMatchObject({ kind: 'NOT_FOUND' });
    await ended;
    expect(a.system.lookupName('kiosk')).toMatchObject({ kind: 'NOT_FOUND' });
    seen.close();
  });

  it('looks up a local name before a cluster name; unregister without a scope releases the local one first', async () => {
    const [a, b] = (await cluster('a', 'b')) as [Harness, Harness];
    const local = await hold(a, 'dup', 'local');
    const remote = await hold(b, 'dup', 'cluster');
    expect([local.answer, remote.answer]).toEqual(['ok', 'ok']);
    expect(a.system.lookupName('dup')).toBe(local.pid);
    expect(b.system.lookupName('dup')).toBe(remote.pid);
    expect(a.system.unregisterName('dup')).toBeUndefined();
    expect(a.system.lookupName('dup')).toBe(remote.pid);
    await a.system.unregisterName('dup');
    expect(a.system.lookupName('dup')).toMatchObject({ kind: 'NOT_FOUND' });
    expect(b.system.unregisterName('dup', 'local')).toMatchObject({ kind: 'NOT_FOUND' });
  });

  it('refuses to register a process of another node, naming its node', async () => {
    const [a, b] = (await cluster('a', 'b')) as [Harness, Harness];
    const { pid } = await hold(b, 'elsewhere');
    expect(a.system.registerName('theirs', pid, 'cluster')).toMatchObject({
      kind: 'INVALID',
      message: `${pid} runs on node b: a name is registered on the node of its process`,
    });
  });

  it('tells a holder whose name the cluster revoked with a CANCEL', async () => {
    const network = new InProcessNetwork();
    const shared = new SharedNames();
    const a = await harness(ENTRIES, {
      transport: network.transport({ node: 'a', incarnation: 1 }),
      names: shared.forNode(),
    });
    nodes = [a];
    const { pid } = await hold(a, 'queue');
    shared.revoke('queue');
    const exit = await a.system.waitForExit(pid);
    expect(exit.ok).toBe(true);
    expect(exit.ok && decodeValue(exit.value)).toBe('name revoked: queue');
  });
});
