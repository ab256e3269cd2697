import { describe, expect, it } from 'vitest';
import { execResult, fixture, runNode } from './attack.js';

/**
 * Issue 8, item 7: memory is accounted at allocation time, per process (max_process_memory)
 * and per host (max_memory); only the process whose allocation crosses a limit fails, with
 * RATE_LIMITED naming the limit, and the others, on its host or another, go on.
 */
describe('memory limits that hold (issue 8, item 7)', () => {
  it('fails only the allocating process, at the limit it crossed', async () => {
    const result = execResult(await runNode(['run', fixture('memory'), '--exec', 'mem:main']));
    expect(result.ok).toBe(true);
    expect(result.value).toEqual({
      grower: {
        kind: 'RateLimited',
        message: expect.stringMatching(
          /^out of memory: this process holds [\d.]+ MiB and may hold 24\.0 MiB \(max_process_memory of host mem:host\)/,
        ),
      },
      burst: {
        kind: 'RateLimited',
        message: expect.stringMatching(
          /^out of memory: the processes of host mem:host hold [\d.]+ MiB and may hold 64\.0 MiB \(its max_memory\)/,
        ),
      },
      // A process on another host, and a small one on the same host, are not affected.
      other_host: { value: 16 * 1024 * 1024 },
      small: { value: 1024 * 1024 },
      // The processes holding memory while blocked end as they would have.
      holders: [{ value: 16384 }, { value: 16384 }, { value: 16384 }],
    });
  });
});
