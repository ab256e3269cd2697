import { readFileSync } from 'node:fs';

/** The Lua files of the kernel, in load order; each extends the kernel table `rt`. */
const KERNEL = [
  'fibers',
  'channel',
  'errors',
  'codec',
  'payload',
  'sandbox',
  'types',
  'boot',
] as const;

const LUA_DIR = new URL('../../lua/', import.meta.url);

export function luaSource(relativePath: string): string {
  return readFileSync(new URL(relativePath, LUA_DIR), 'utf8');
}

export interface KernelFile {
  readonly name: string;
  readonly source: string;
}

let cached: readonly KernelFile[] | undefined;

export function kernelFiles(): readonly KernelFile[] {
  cached ??= KERNEL.map((name) => ({ name, source: luaSource(`kernel/${name}.lua`) }));
  return cached;
}
