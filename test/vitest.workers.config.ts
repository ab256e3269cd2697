import { defineLuactProject } from '../vitest.shared.js';

/**
 * The isolation suite once more, with the node's main host and every process.host that sets no
 * `workers` on two worker threads: LUACT_WORKERS=2 in the tests' environment, which the nodes
 * they start in process read and the `luact` commands they run inherit.
 */
export default defineLuactProject('isolation-workers', {
  include: ['isolation/**/*.test.ts'],
  env: { LUACT_WORKERS: '2' },
  globalSetup: ['src/global-setup.ts'],
});
