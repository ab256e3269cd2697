import { isValidName } from '@luact/core';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  Scalar,
} from 'yaml';
import type { DefinitionOrigin, EntryDefinition } from '../definition.js';
import type { Diagnostic, SourceLocation } from '../diagnostics.js';
import { type FieldPath, formatFieldPath } from '../field-path.js';
import { isMapping } from '../schema/index.js';
import { aliasProblems } from './aliases.js';
import { childOf, locatePath, Positions } from './locate.js';
import { syntaxErrorOffset, syntaxProblems } from './syntax-errors.js';

export interface DefinitionFile {
  readonly definitions: readonly EntryDefinition[];
  readonly diagnostics: readonly Diagnostic[];
  /** Set when no document of the file is a definition (no namespace, not a mapping). */
  readonly skipped?: string;
}

/** Keys of an entry that are not kind-specific fields. */
const ENTRY_KEYS = new Set(['name', 'kind', 'meta', 'data']);
/** Keys of a definition file around its entries. */
const FILE_KEYS = new Set(['version', 'namespace', 'entries', 'meta']);
/** Keys of a single-entry document that belong to the file, not the entry. */
const SINGLE_ENTRY_FILE_KEYS = new Set(['namespace', 'version']);

type Problem = Omit<Diagnostic, 'location'> & { readonly location: SourceLocation | undefined };

/**
 * Reads the definitions of one YAML file. A file holds one or more documents, each with a
 * top-level `namespace` and either an `entries` list or a single entry (`name` + `kind`).
 */
export function readDefinitionFile(file: string, text: string): DefinitionFile {
  const lines = new LineCounter();
  const positions = new Positions(file, lines);
  const documents = parseAllDocuments(text, {
    lineCounter: lines,
    merge: true,
    prettyErrors: false,
  });
  if (documents.length === 0) {
    const warning: Diagnostic = {
      severity: 'warning',
      code: 'not-a-definition',
      message: 'file skipped: empty file',
      location: positions.at(0),
    };
    return { definitions: [], diagnostics: [warning], skipped: 'empty file' };
  }
  const definitions: EntryDefinition[] = [];
  const diagnostics: Diagnostic[] = [];
  const skipReasons: string[] = [];
  for (const doc of documents) {
    const outcome = new DocumentReader(doc, text, positions, diagnostics).read();
    if (outcome.skipped) skipReasons.push(outcome.skipped);
    definitions.push(...outcome.definitions);
  }
  const skipped =
    definitions.length === 0 && skipReasons.length > 0 ? skipReasons.join('; ') : undefined;
  return skipped === undefined
    ? { definitions, diagnostics }
    : { definitions, diagnostics, skipped };
}

class DocumentReader {
  constructor(
    private readonly doc: Document,
    private readonly text: string,
    private readonly positions: Positions,
    private readonly diagnostics: Diagnostic[],
  ) {}

  read(): { definitions: EntryDefinition[]; skipped?: string } {
    const { doc, positions } = this;
    if (doc.errors.length > 0) {
      for (const { error, ...problem } of syntaxProblems(doc.errors)) {
        this.report({ ...problem, location: positions.at(syntaxErrorOffset(this.text, error)) });
      }
      return { definitions: [] };
    }
    const root = doc.contents;
    if (root === null || (isScalar(root) && root.value === null)) {
      return this.skip('not-a-definition', 'empty document', root);
    }
    // An alias needs a `*`: most files have none, and their walk is skipped.
    const aliases = this.text.includes('*') ? aliasProblems(doc, positions) : [];
    if (aliases.length > 0) {
      this.diagnostics.push(...aliases);
      return { definitions: [] };
    }
    const value = this.valueOf();
    if (value instanceof Error) {
      this.report({
        severity: 'error',
        code: 'yaml-alias',
        message: `this document's value could not be built: ${value.message}`,
        location: positions.of(root),
      });
      return { definitions: [] };
    }
    if (!isMap(root) || !isMapping(value)) {
      return this.skip(
        'not-a-definition',
        'the top level is not a mapping with namespace and entries',
        root,
      );
    }
    const namespace = value.namespace;
    if (namespace === undefined) {
      return this.skip('missing-namespace', 'no top-level "namespace"', root);
    }
    if (typeof namespace !== 'string' || !isValidName(namespace)) {
      this.report({
        severity: 'error',
        code: 'invalid-name',
        message: `namespace ${JSON.stringify(namespace)} is not a valid name (letters, digits, _ . -)`,
        location: positions.of(childOf(doc, root, 'namespace')),
      });
      return { definitions: [] };
    }
    if ('entries' in value) return { definitions: this.readEntryList(root, value, namespace) };
    if ('name' in value || 'kind' in value) {
      const single = this.readEntry(root, value, namespace, SINGLE_ENTRY_FILE_KEYS);
      return { definitions: single ? [single] : [] };
    }
    this.report({
      severity: 'warning',
      code: 'no-entries',
      message: `namespace "${namespace}" declares no entries (add an "entries" list)`,
      location: positions.of(root),
    });
    return { definitions: [] };
  }

  /**
   * The document as plain data. Its aliases were checked (none recursive, none unresolved, a
   * bounded expansion), so the library's own alias heuristic, which refuses an anchor used
   * over a thousand times however small, is not needed; an error it still finds is returned.
   */
  private valueOf(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: -1 });
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  private readEntryList(
    root: Node,
    value: Record<string, unknown>,
    namespace: string,
  ): EntryDefinition[] {
    for (const key of Object.keys(value)) {
      if (FILE_KEYS.has(key)) continue;
      this.report({
        severity: 'warning',
        code: 'unknown-field',
        message: `unknown top-level field "${key}" is ignored`,
        location: this.locate(root, [key], 'key'),
      });
    }
    const listNode = childOf(this.doc, root, 'entries');
    if (!Array.isArray(value.entries) || !isSeq(listNode)) {
      this.report({
        severity: 'error',
        code: 'wrong-type',
        message: '"entries" must be a list of entries',
        location: this.positions.of(listNode ?? root),
      });
      return [];
    }
    const definitions: EntryDefinition[] = [];
    for (const [index, item] of value.entries.entries()) {
      const node = childOf(this.doc, listNode, index);
      if (!node || !isMapping(item)) {
        this.report({
          severity: 'error',
          code: 'wrong-type',
          message: `entries[${index}] must be a mapping with name and kind`,
          location: this.positions.of(node ?? listNode),
        });
        continue;
      }
      const definition = this.readEntry(node, item, namespace, new Set());
      if (definition) definitions.push(definition);
    }
    return definitions;
  }

  private readEntry(
    node: Node,
    value: Record<string, unknown>,
    namespace: string,
    fileKeys: ReadonlySet<string>,
  ): EntryDefinition | undefined {
    const name = this.requireString(node, value, 'name', namespace);
    const kind = this.requireString(node, value, 'kind', namespace);
    if (name === undefined || kind === undefined) return undefined;
    const entry = `${namespace}:${name}`;
    const fieldError = (
      path: FieldPath,
      at: 'key' | 'value',
      code: Diagnostic['code'],
      message: string,
    ) => {
      const field = formatFieldPath(path[0] === 'data' && path.length > 1 ? path.slice(1) : path);
      this.report({
        severity: 'error',
        code,
        message,
        location: this.locate(node, path, at),
        entry,
        field,
      });
      return undefined;
    };

    const fields: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(value)) {
      if (!ENTRY_KEYS.has(key) && !fileKeys.has(key)) fields[key] = field;
    }
    const { data, meta } = value;
    if (data !== undefined && data !== null) {
      if (!isMapping(data))
        return fieldError(['data'], 'value', 'wrong-type', '"data" must be a mapping of fields');
      for (const [key, field] of Object.entries(data)) {
        if (key in fields) {
          const message = `field "${key}" is written both inline and under "data"`;
          return fieldError(['data', key], 'key', 'duplicate-field', message);
        }
        fields[key] = field;
      }
    }
    if (meta !== undefined && meta !== null && !isMapping(meta)) {
      return fieldError(['meta'], 'value', 'wrong-type', '"meta" must be a mapping');
    }
    const sourceLocation = this.sourceLocationOf(node);
    return {
      namespace,
      name,
      kind,
      ...(isMapping(meta) && { meta }),
      fields,
      origin: this.originOf(node),
      ...(sourceLocation && { sourceLocation }),
    };
  }

  private requireString(
    node: Node,
    value: Record<string, unknown>,
    key: 'name' | 'kind',
    namespace: string,
  ): string | undefined {
    const field = value[key];
    if (typeof field === 'string' && field !== '') return field;
    const label =
      typeof value.name === 'string'
        ? `${namespace}:${value.name}`
        : `an entry in namespace "${namespace}"`;
    const missing = field === undefined || field === null || field === '';
    this.report({
      severity: 'error',
      code: missing ? 'missing-field' : 'wrong-type',
      message: missing ? `${label} has no "${key}"` : `"${key}" must be a string`,
      location: missing ? this.positions.of(node) : this.locate(node, [key], 'value'),
    });
    return undefined;
  }

  private originOf(node: Node): DefinitionOrigin {
    const start = this.positions.of(node) ?? this.positions.at(0);
    return {
      ...start,
      locate: (path, at) => this.locate(node, this.fieldPath(node, path), at),
    };
  }

  /** Fields live inline or under `data:`; find which, so the path can be walked. */
  private fieldPath(node: Node, path: FieldPath): FieldPath {
    const first = path[0];
    if (typeof first !== 'string' || first === 'meta' || childOf(this.doc, node, first)) {
      return path;
    }
    const data = childOf(this.doc, node, 'data');
    return data && childOf(this.doc, data, first) ? ['data', ...path] : path;
  }

  /**
   * Where inline Lua text starts: for block scalars the line after `|` or `>`, at the column
   * of its indentation (which every line of the text has), so a place in the text maps to one
   * in the file.
   */
  private sourceLocationOf(node: Node): SourceLocation | undefined {
    const { doc } = this;
    const scalar =
      childOf(doc, node, 'source') ?? childOf(doc, childOf(doc, node, 'data'), 'source');
    if (!isScalar(scalar) || typeof scalar.value !== 'string') return undefined;
    if (scalar.value.startsWith('file://')) return undefined;
    const start = this.positions.of(scalar);
    if (!start || !scalar.range) return undefined;
    const block = scalar.type === Scalar.BLOCK_LITERAL || scalar.type === Scalar.BLOCK_FOLDED;
    if (!block) return start;
    return { file: start.file, line: start.line + 1, column: this.blockIndent(scalar.range) + 1 };
  }

  /** The indentation of a block scalar's text: that of its first line that is not blank. */
  private blockIndent(range: readonly [number, number, number]): number {
    const body = this.text.slice(range[0], range[1]);
    const firstLine = /\n( *)[^ \n\r]/.exec(body);
    return firstLine?.[1]?.length ?? 0;
  }

  private locate(node: Node, path: FieldPath, at: 'key' | 'value'): SourceLocation | undefined {
    return locatePath(this.doc, this.positions, node, path, at);
  }

  private skip(
    code: 'missing-namespace' | 'not-a-definition',
    reason: string,
    node: Node | null,
  ): { definitions: EntryDefinition[]; skipped: string } {
    this.report({
      severity: 'warning',
      code,
      message: `file skipped: ${reason}`,
      location: this.positions.of(node) ?? this.positions.at(0),
    });
    return { definitions: [], skipped: reason };
  }

  private report({ location, ...problem }: Problem): void {
    this.diagnostics.push(location ? { ...problem, location } : problem);
  }
}
