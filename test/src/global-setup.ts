import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Integration tests run the real `luact` binary, which loads the built packages: bring them up
 * to date first (incremental, so a no-op when nothing changed).
 */
export default function buildPackages(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
