import { err, ok, type Result } from '@luact/core';
import type { Diagnostic } from './diagnostics.js';
import { diagnosticAt, type EntryOf } from './entry.js';
import type { FieldPath } from './field-path.js';
import { type Kind, type KindConfigs, lookupKind } from './kinds/catalog.js';
import {
  type Environment,
  hasPlaceholder,
  parsePlaceholders,
  resolvePlaceholders,
} from './placeholders.js';
import { type DecodeContext, INVALID } from './schema/index.js';
import type { RegistrySnapshot } from './snapshot.js';

/**
 * An entry's typed configuration: placeholders resolved from `env`, every field decoded and
 * defaults filled in. Errors name the entry, the field and the unset variable.
 */
export function activateEntry<K extends Kind>(
  entry: EntryOf<K>,
  env: Environment,
): Result<KindConfigs[K], Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const fields = substitute(entry.fields, [], env, (path, message) =>
    diagnostics.push(
      diagnosticAt(entry.origin, entry.id, {
        severity: 'error',
        code: 'env-unset',
        message,
        path,
        at: 'value',
      }),
    ),
  ) as Record<string, unknown>;
  if (diagnostics.length > 0) return err(diagnostics);

  const kind = lookupKind(entry.declaredKind);
  if (!kind) throw new Error(`registry entry ${entry.id} has unknown kind ${entry.declaredKind}`);
  const context: DecodeContext = {
    phase: 'activate',
    namespace: entry.namespace,
    report: (issue) => {
      if (issue.severity === 'error') diagnostics.push(diagnosticAt(entry.origin, entry.id, issue));
    },
    refer: () => {},
  };
  const config = kind.schema.decode(fields, [], context);
  if (config === INVALID || diagnostics.length > 0) return err(diagnostics);
  return ok(config as KindConfigs[K]);
}

/** Activates every entry of a snapshot and collects all problems (`luact lint`, node start-up). */
export function checkActivation(snapshot: RegistrySnapshot, env: Environment): Diagnostic[] {
  return snapshot.entries().flatMap((entry) => {
    const activated = activateEntry(entry, env);
    return activated.ok ? [] : activated.error;
  });
}

function substitute(
  value: unknown,
  path: FieldPath,
  env: Environment,
  missing: (path: FieldPath, message: string) => void,
): unknown {
  if (typeof value === 'string') {
    if (!hasPlaceholder(value) || (path.length === 1 && path[0] === 'source')) return value;
    const parsed = parsePlaceholders(value);
    if (!parsed.ok) return value;
    const resolved = resolvePlaceholders(parsed.parts, env);
    if (resolved.ok) return resolved.text;
    for (const variable of resolved.missing) {
      missing(
        path,
        `environment variable ${variable} is not set and its placeholder has no default (write \${env:${variable}|default})`,
      );
    }
    return value;
  }
  if (Array.isArray(value))
    return value.map((item, index) => substitute(item, [...path, index], env, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        substitute(item, [...path, key], env, missing),
      ]),
    );
  }
  return value;
}
