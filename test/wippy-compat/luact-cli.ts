/** What the Wippy compatibility runners share: the luact binary they run, and a directory test. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built `luact` command line of this checkout. */
export const LUACT_CLI = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../packages/cli/bin/luact.js',
);

export async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}
