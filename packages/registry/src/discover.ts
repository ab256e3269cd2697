import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** Directories never read as part of an application. */
const SKIPPED_DIRECTORIES = new Set(['node_modules', 'dist']);

/** Every `*.yaml` / `*.yml` file below `dir`, sorted, skipping hidden and build directories. */
export async function findDefinitionFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    const children = await readdir(current, { withFileTypes: true });
    for (const child of children) {
      if (child.name.startsWith('.')) continue;
      const full = path.join(current, child.name);
      if (child.isDirectory() && !SKIPPED_DIRECTORIES.has(child.name)) await walk(full);
      else if (child.isFile() && /\.ya?ml$/i.test(child.name)) found.push(full);
    }
  };
  await walk(dir);
  return found.sort();
}
