import { readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { EntryDefinition } from './definition.js';
import type { Diagnostic } from './diagnostics.js';
import { diagnosticAt } from './entry.js';

const FILE_SCHEME = 'file://';

export type SourceResolution =
  | { readonly ok: true; readonly definition: EntryDefinition }
  | { readonly ok: false; readonly diagnostic: Diagnostic };

/**
 * Replaces `source: file://path` with the file's text. The path is relative to the YAML file
 * that wrote it and must stay inside the application directory (`appDir`, a real path), also
 * through symbolic links.
 */
export async function resolveSource(
  definition: EntryDefinition,
  appDir: string,
): Promise<SourceResolution> {
  const source = definition.fields.source;
  const origin = definition.origin;
  if (typeof source !== 'string' || !source.startsWith(FILE_SCHEME) || !origin) {
    return { ok: true, definition };
  }
  const written = source.slice(FILE_SCHEME.length);
  const fail = (
    code: 'source-not-found' | 'source-outside-app',
    message: string,
  ): SourceResolution => ({
    ok: false,
    diagnostic: diagnosticAt(origin, `${definition.namespace}:${definition.name}`, {
      severity: 'error',
      code,
      message,
      path: ['source'],
      at: 'value',
    }),
  });
  const target = path.resolve(path.dirname(origin.file), written);
  if (!isInside(appDir, target)) {
    return fail(
      'source-outside-app',
      `source "${written}" is outside the application directory ${appDir}`,
    );
  }
  let real: string;
  try {
    real = await realpath(target);
  } catch {
    return fail('source-not-found', `source file "${written}" not found (looked for ${target})`);
  }
  if (!isInside(appDir, real)) {
    return fail(
      'source-outside-app',
      `source "${written}" links to ${real}, outside the application directory ${appDir}`,
    );
  }
  const text = await readFile(real, 'utf8');
  return {
    ok: true,
    definition: {
      ...definition,
      fields: { ...definition.fields, source: text },
      sourceLocation: { file: real, line: 1, column: 1 },
    },
  };
}

function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
