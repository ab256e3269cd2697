import { MemoryJournal } from '@luact/journal';
import { afterEach, expect, it } from 'vitest';
import type { Command } from './records.js';
import { type Node, node, until, workflow } from './testing/harness.js';

const nodes: Node[] = [];

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
});

async function start(...args: Parameters<typeof node>) {
  const n = await node(...args);
  nodes.push(n);
  return n;
}

const never = () => new Promise<never>(() => {});

/** Random values, an encryption, a token checked against workflow time, reported then returned. */
const FLOW = `local funcs, crypto = require("funcs"), require("crypto")
return { main = function()
  local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
  local key = string.rep("k", 32)
  local sealed = crypto.encrypt.aes("secret", key)
  local token = crypto.jwt.encode({ sub = "w", exp = os.time() + 60 }, "s")
  local seen = {
    bytes = hex(crypto.random.bytes(16)), text = crypto.random.string(20), id = crypto.random.uuid(),
    sealed = hex(sealed), opened = crypto.decrypt.aes(sealed, key),
    chacha = hex(crypto.encrypt.chacha20("x", key)),
    mac = crypto.hmac.sha256("k", "d"), sub = crypto.jwt.verify(token, "s").sub,
    key = hex(crypto.pbkdf2("pw", "salt", 10, 16)),
  }
  funcs.call("report", seen)
  return seen
end }`;

it('crypto in a workflow: random values and nonces are journaled, so a replay computes the same', async () => {
  const journal = new MemoryJournal();
  const reported: Record<string, unknown>[] = [];
  const entries = { 'app:flow': workflow(FLOW, ['funcs', 'crypto']) };
  const first = await start(entries, {
    journal,
    functions: {
      'app:report': async (_call, seen) => {
        reported.push(seen as Record<string, unknown>);
        return never();
      },
    },
  });
  const pid = await first.start('app:flow', [], { workflow: 'c' });
  await until(() => reported.length === 1, 'the values are reported');
  await first.stop();

  const second = await start(entries, { journal, functions: { 'app:report': async () => true } });
  expect(await second.result(pid)).toEqual({ ok: true, value: reported[0] });
  expect(reported[0]).toMatchObject({ opened: 'secret', sub: 'w' });

  const sideEffects = (await journal.read('c~1'))
    .flatMap((record) => (record.t === 'task' ? (record.commands as Command[]) : []))
    .filter((command) => command.k === 'side_effect');
  // The AES nonce, then the bytes, the string's draw, the UUID's and the ChaCha20 nonce.
  expect(sideEffects.map((command) => command.k === 'side_effect' && command.what)).toEqual([
    '12 random bytes',
    '16 random bytes',
    '56 random bytes',
    '16 random bytes',
    '12 random bytes',
  ]);
});

it('crypto in a workflow draws at most 64 KiB of random bytes at once: more is nil and INVALID', async () => {
  const n = await start({
    'app:flow': workflow(
      `local crypto = require("crypto")
       return { main = function()
         local big, err = crypto.random.bytes(65537)
         local text, text_err = crypto.random.string(40000)
         return { #crypto.random.bytes(65536), big == nil, err:kind(), err:message(),
                  text == nil, text_err:message() }
       end }`,
      ['crypto'],
    ),
  });
  expect(await n.run('app:flow', [], { workflow: 'big' })).toEqual({
    ok: true,
    value: [
      65536,
      true,
      'Invalid',
      'crypto: a workflow draws at most 65536 random bytes at once (they are kept in its journal); this call needs 65537',
      true,
      'crypto: a workflow draws at most 65536 random bytes at once (they are kept in its journal); this call needs 80016',
    ],
  });
});

it('a replay whose code draws other random bytes than the journal holds blocks the run, naming both', async () => {
  const journal = new MemoryJournal();
  const source = (count: number) => `local funcs, crypto = require("funcs"), require("crypto")
return { main = function()
  local key = crypto.random.bytes(${count})
  funcs.call("wait")
  return #key
end }`;
  const first = await start(
    { 'app:flow': workflow(source(16), ['funcs', 'crypto']) },
    { journal, functions: { 'app:wait': never } },
  );
  await first.start('app:flow', [], { workflow: 'keyed' });
  await until(async () => (await journal.read('keyed~1')).length >= 2, 'the run waits');
  await first.stop();

  const second = await start(
    { 'app:flow': workflow(source(32), ['funcs', 'crypto']) },
    { journal, functions: { 'app:wait': never } },
  );
  await until(() => second.host.list()[0]?.status === 'blocked', 'the run is blocked');
  const problem = second.host.list()[0]?.problem ?? '';
  expect(problem).toContain('a side effect (16 random bytes) at app:flow.lua:3');
  expect(problem).toContain('a side effect (32 random bytes) at app:flow.lua:3');
});
