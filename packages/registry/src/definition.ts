import type { SourceLocation } from './diagnostics.js';
import type { FieldPath } from './field-path.js';

/**
 * Finds fields of one definition in its source text. Paths are relative to the entry
 * (`['lifecycle', 'restart']`, `['meta', 'type']`), whether the field was written inline or
 * under `data:`.
 */
export interface FieldLocator {
  locate(path: FieldPath, at: 'key' | 'value'): SourceLocation | undefined;
}

export interface DefinitionOrigin extends SourceLocation, FieldLocator {}

/**
 * An entry as written, before validation: what YAML files and the TypeScript API hand to the
 * registry. `fields` are the kind-specific fields (inline and `data:` merged), with `file://`
 * sources already replaced by their text.
 */
export interface EntryDefinition {
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  readonly meta?: Readonly<Record<string, unknown>>;
  readonly fields: Readonly<Record<string, unknown>>;
  /** Where the definition was written, when it came from a file. */
  readonly origin?: DefinitionOrigin;
  /** Where the Lua text of `source` starts (its own file, or the YAML block holding it). */
  readonly sourceLocation?: SourceLocation;
}
