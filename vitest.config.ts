import { defineConfig } from 'vitest/config';

/** `npm test`: every package's unit tests and the cross-package tests in `test/`, in one run. */
export default defineConfig({
  test: {
    // test/vitest.workers.config.ts: the isolation suite again with hosts on worker threads.
    projects: [
      'packages/*/vitest.config.ts',
      'test/vitest.config.ts',
      'test/vitest.workers.config.ts',
    ],
    // Most of the suite waits on servers, child processes and timers rather than the CPU: three
    // files at a time keep two cores busy (vitest's default here would be one).
    maxWorkers: 3,
  },
});
