import { defineConfig } from 'vitest/config';

/** `npm test`: every package's unit tests and the cross-package tests in `test/`, in one run. */
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'test/vitest.config.ts'],
  },
});
