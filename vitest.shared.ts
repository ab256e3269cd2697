import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/**
 * Every package tests its TypeScript sources directly: the `luact-source` export condition
 * resolves `@luact/*` imports to `src/index.ts`, so tests never run against a stale `dist/`.
 */
export const SOURCE_CONDITIONS = ['luact-source', 'node', 'import', 'default'];

export function defineLuactProject(
  name: string,
  test: NonNullable<UserWorkspaceConfig['test']> = {},
): UserWorkspaceConfig {
  return defineProject({
    resolve: { conditions: SOURCE_CONDITIONS },
    ssr: { resolve: { conditions: SOURCE_CONDITIONS, externalConditions: SOURCE_CONDITIONS } },
    test: {
      name,
      include: ['src/**/*.test.ts'],
      testTimeout: 20_000,
      hookTimeout: 30_000,
      ...test,
    },
  });
}
