import { afterEach, describe, expect, it } from 'vitest';
import { type Node, node, workflow } from './testing/harness.js';

/**
 * A workflow host admits what a process host does (issue 8, item 8): messages within its
 * max_message_size, at most max_mailbox (and max_mailbox_bytes) of them not yet received by
 * the run's code, and spawn arguments within the message limit. Refused means not journaled.
 */

let n: Node | undefined;

afterEach(async () => {
  await n?.stop();
  n = undefined;
});

const lua = (source: string) => ({ kind: 'process.lua', source, modules: [] });

describe('what a workflow host admits', () => {
  it('refuses messages past max_mailbox not yet received, and oversized ones, and keeps the others', async () => {
    n = await node(
      {
        // Receives nothing, ever.
        'app:slow': workflow('return { main = function() channel.new():receive() end }'),
        'app:flood': lua(
          `return { main = function(pid)
             local out = {}
             for i = 1, 8 do
               local ok, err = process.send(pid, "m", i)
               out[#out + 1] = ok and "ok" or err:kind()
             end
             local _, big = process.send(pid, "m", string.rep("x", 4096))
             out[#out + 1] = big:kind() .. ": " .. big:message()
             return out
           end }`,
        ),
      },
      { limits: { max_mailbox: 5, max_message_size: 1024 } },
    );
    const pid = await n.start('app:slow', [], { workflow: 'slow' });
    const flood = await n.process('app:flood', pid);
    expect(flood.ok && flood.value).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'RateLimited',
      'RateLimited',
      'RateLimited',
      expect.stringMatching(
        /^Invalid: message of \d+ bytes to \{app:flows\|slow\} exceeds host app:flows's limit of 1024 bytes/,
      ),
    ]);
    // The accepted messages, and only they, are journaled.
    const history = (await n.host.history('slow')) as { t: string; payload?: unknown }[];
    expect(history.filter((record) => record.t === 'signal')).toHaveLength(5);
  });

  it('refuses spawn arguments over max_message_size before anything is journaled', async () => {
    n = await node(
      {
        'app:any': workflow('return { main = function(s) return #s end }'),
        'app:spawner': lua(
          `return { main = function()
             local pid, err = process.spawn("app:any", "app:flows", string.rep("a", 4096))
             return { pid = pid, kind = err and err:kind(), message = err and err:message() }
           end }`,
        ),
      },
      { limits: { max_message_size: 1024 } },
    );
    const spawned = await n.process('app:spawner');
    expect(spawned).toEqual({
      ok: true,
      value: {
        kind: 'Invalid',
        message: expect.stringMatching(/arguments of \d+ bytes .*app:any.*1024/),
      },
    });
    expect(n.host.list()).toEqual([]);
  });
});
