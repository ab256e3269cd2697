import type { Entry } from './entry.js';

/**
 * Wippy's process functions: a process.lua entry whose meta names a `default_host` may also be
 * called like a function (`funcs.call` starts it on that host, waits for it to end and returns
 * what its main returned). The host as written, relative to the entry's namespace; undefined
 * for every other entry.
 */
export function processFunctionHost(entry: Entry): string | undefined {
  if (entry.kind !== 'process.lua') return undefined;
  const host = entry.meta.default_host;
  return typeof host === 'string' && host !== '' ? host : undefined;
}
