import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, harness, lua } from './testing/system-harness.js';

let h: Harness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

describe('an idle process', () => {
  it('holds at most 1,450 bytes of Lua heap while it waits in its inbox', async () => {
    // What it holds (wasm32 sizes): its thread with the stack and call records of the wait
    // (~650 B), its globals and main function, its state, inbox channel, mail record and the
    // waiter of its receive, its PID as the key its mail is sent by. 1,409 B measured; the
    // fiber's ids cached in two tables, a box table per process and call records left from
    // start-up made that 1,570 B.
    const count = 2000;
    h = await harness({
      'app:processes': { kind: 'process.host', host: { max_processes: count + 10 } },
      'app:idle': lua('return { main = function() process.inbox():receive() end }'),
      'app:main': lua(`return { main = function(n)
        for i = 1, n do assert(process.spawn("idle", "app:processes")) end
      end }`),
    });
    const host = h.system.host('app:processes');
    if (host === undefined) throw new Error('no host app:processes');
    host.vm.collectGarbage();
    const before = host.vm.heapBytes();
    expect(await h.run('app:main', count)).toEqual({ ok: true, value: null });
    while (host.processCount < count || host.vm.readyCount > 0)
      await new Promise((resolve) => setImmediate(resolve));
    host.vm.collectGarbage();
    const perProcess = (host.vm.heapBytes() - before) / count;
    expect(perProcess).toBeGreaterThan(500);
    expect(perProcess).toBeLessThan(1450);
  });
});
