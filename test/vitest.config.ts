import { defineLuactProject } from '../vitest.shared.js';

export default defineLuactProject('integration', {
  include: [
    'src/**/*.test.ts',
    'isolation/**/*.test.ts',
    'docs/**/*.test.ts',
    'cluster/**/*.test.ts',
  ],
  globalSetup: ['src/global-setup.ts'],
});
