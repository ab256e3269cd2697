import { readFileSync } from 'node:fs';
import { LuactError } from '@luact/core';
import type { LuaModuleSpec } from '@luact/lua';

/**
 * The `luact_test` module (see lua/luact_test.lua): what luact's own tests need to make a
 * worker thread stop answering or end, which nothing an application does can. Only on a node
 * started with test hooks; on the main thread each hook refuses (it would stop the node).
 */
export function testHooksModule(thread: 'main' | 'worker'): LuaModuleSpec {
  const onWorker = (hook: string) => {
    if (thread === 'main')
      throw new LuactError(
        'INVALID',
        `luact_test.${hook} works in a process on a worker thread only (a host with workers > 1)`,
        { retryable: false },
      );
  };
  return {
    name: 'luact_test',
    scope: 'module',
    source: readFileSync(new URL('../../lua/luact_test.lua', import.meta.url), 'utf8'),
    functions: {
      freeze_worker() {
        onWorker('freeze_worker');
        // Blocked inside a host call for good: neither the count hook nor the event loop runs.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
        return 0;
      },
      fail_worker(L, vm) {
        onWorker('fail_worker');
        const how = vm.stack.text(L, 1);
        // Once the Lua call has returned: the thread ends outside the engine.
        setImmediate(() => {
          if (how === 'exit') process.exit(3);
          throw new Error('luact_test.fail_worker: the worker thread fails on purpose');
        });
        return 0;
      },
    },
  };
}
