import { defineLuactProject } from '../vitest.shared.js';

/**
 * The isolation suite once more, with the node's main host and every process.host that sets no
 * `workers` on two worker threads: LUACT_WORKERS=2 in the tests' environment, which the nodes
 * they start in process read and the `luact` commands they run inherit.
 */
export default defineLuactProject('isolation-workers', {
  include: ['isolation/**/*.test.ts'],
  // After the other projects (group 0), not beside them: its attacks keep the CPU busy, and
  // the cluster chaos tests (SIGKILLed NATS servers, 2.5 s fences) failed more often beside it.
  sequence: { groupOrder: 1 },
  env: { LUACT_WORKERS: '2' },
  globalSetup: ['src/global-setup.ts'],
});
