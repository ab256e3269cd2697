import { LuactError } from './errors.js';

/**
 * What one kind of ID may be. IDs become file names, NATS subjects, PIDs and lines of tables,
 * so they are measured the way those count (bytes of UTF-8, not characters) and held to one
 * line of printable text.
 */
export interface IdRule {
  /** What the ID is called in messages: `workflow ID`. */
  readonly what: string;
  /** The longest ID in bytes of UTF-8. */
  readonly maxBytes: number;
  /** Characters with a meaning around the ID, refused inside it (a PID's `{`, `|`, `}`). */
  readonly reserved?: { readonly characters: string; readonly because: string };
  /**
   * Accept any Unicode text, control characters and surrounding spaces too: for IDs that are
   * only stored and encoded, never shown (journal stream IDs). Default: one printable line.
   */
  readonly anyText?: boolean;
}

/**
 * Workflow IDs (`with_name`, `workflow.id`, `luact workflow start --id`, the node's API): one
 * line of printable text of 1 to 256 bytes, without the `{`, `|`, `}` of the PID that carries
 * it. A run's journal stream is `<id>~<run>`, well inside the journal's 512 bytes.
 */
export const WORKFLOW_ID_RULE: IdRule = {
  what: 'workflow ID',
  maxBytes: 256,
  reserved: { characters: '{|}', because: 'a PID ({host|id}) is delimited by "{", "|" and "}"' },
};

/**
 * Registered process names (`process.registry.register`, `with_name` of a process): one line
 * of printable text of 1 to 256 bytes, like workflow IDs; unlike them a name is not carried
 * inside a PID, so it may hold `{`, `|` and `}` (names are often made of PIDs), but it may not
 * be shaped like one (see @luact/process's checkName).
 */
export const PROCESS_NAME_RULE: IdRule = { what: 'process name', maxBytes: 256 };

/** Journal stream IDs: any Unicode text of 1 to 512 bytes (it is encoded for file names). */
export const STREAM_ID_RULE: IdRule = { what: 'journal stream ID', maxBytes: 512, anyText: true };

/**
 * Why `id` breaks `rule`, as an INVALID error that names the rule and the place (the
 * character and its position, or the byte length and the limit); undefined for a good ID.
 * The ID is quoted in the message with everything unprintable escaped, so the message itself
 * stays one readable line.
 */
export function idProblem(id: unknown, rule: IdRule): LuactError | undefined {
  if (typeof id !== 'string') {
    const type = id === null ? 'null' : typeof id;
    return invalid(rule, `a ${rule.what} must be text, not ${type}`, { rule: 'text' });
  }
  if (id === '') return invalid(rule, `a ${rule.what} must not be empty`, { rule: 'empty' });
  let bytes = 0;
  let position = 0;
  for (const character of id) {
    position++;
    const code = character.codePointAt(0) as number;
    bytes += utf8Length(code);
    const refused = refusal(rule, code, character);
    if (refused) {
      const [name, why] = refused;
      return invalid(
        rule,
        `${rule.what} ${display(id)} has ${name} (${codePoint(code)}) at character ${position}: ${why}`,
        { rule: 'character', character: codePoint(code), position },
      );
    }
  }
  if (bytes > rule.maxBytes) {
    return invalid(
      rule,
      `${rule.what} ${display(id)} is ${bytes} bytes long in UTF-8, over the limit of ${rule.maxBytes} bytes (characters outside ASCII take 2 to 4 bytes each)`,
      { rule: 'bytes', bytes, limit: rule.maxBytes },
    );
  }
  if (!rule.anyText) {
    const starts = isWhitespace(id.codePointAt(0) as number);
    if (starts || isWhitespace(id.codePointAt(id.length - 1) as number)) {
      return invalid(
        rule,
        `${rule.what} ${display(id)} ${starts ? 'starts' : 'ends'} with whitespace, which no one sees in a list`,
        { rule: 'whitespace', position: starts ? 1 : position },
      );
    }
  }
  return undefined;
}

/** What a refused character is, and why it is refused; undefined for a character `rule` takes. */
function refusal(rule: IdRule, code: number, character: string): [string, string] | undefined {
  if (code >= 0xd800 && code <= 0xdfff) {
    return ['a lone surrogate', 'half of a character, which UTF-8 cannot hold'];
  }
  if (rule.anyText) return undefined;
  const unprintable = unprintableName(code);
  if (unprintable !== undefined) {
    return [
      unprintable,
      `a ${rule.what} is one line of printable text, without control characters, line or paragraph separators or bidirectional controls`,
    ];
  }
  if (rule.reserved?.characters.includes(character)) {
    return [`"${character}"`, rule.reserved.because];
  }
  return undefined;
}

/** `id` when it keeps `rule`; throws idProblem's INVALID error otherwise. */
export function checkIdRule(id: string, rule: IdRule): string {
  const problem = idProblem(id, rule);
  if (problem) throw problem;
  return id;
}

/** A workflow ID when it keeps WORKFLOW_ID_RULE; throws INVALID, saying what is wrong and where. */
export function checkWorkflowId(id: string): string {
  return checkIdRule(id, WORKFLOW_ID_RULE);
}

function invalid(rule: IdRule, message: string, details: Record<string, unknown>): LuactError {
  return new LuactError('INVALID', message, {
    retryable: false,
    details: { id: rule.what, ...details },
  });
}

/**
 * Characters that break a line or the order of what follows them on it: C0 and C1 controls,
 * DEL, the line and paragraph separators, and the bidirectional controls (which reorder a row
 * of a table, or make one ID look like another).
 */
function unprintableName(code: number): string | undefined {
  if (code <= 0x1f || code === 0x7f || (code >= 0x80 && code <= 0x9f)) {
    return CONTROL_NAMES[code] ?? 'a control character';
  }
  if (code === 0x2028) return 'a line separator';
  if (code === 0x2029) return 'a paragraph separator';
  if (
    code === 0x061c ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  ) {
    return 'a bidirectional control';
  }
  return undefined;
}

const CONTROL_NAMES: Readonly<Record<number, string>> = {
  0: 'a NUL',
  9: 'a tab',
  10: 'a line feed',
  13: 'a carriage return',
  27: 'an escape',
  127: 'a DEL',
  133: 'a next-line control',
};

function isWhitespace(code: number): boolean {
  return /\s/u.test(String.fromCodePoint(code));
}

function utf8Length(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  if (code < 0x10000) return 3;
  return 4;
}

function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Shown in messages: quoted, at most 40 characters, anything unprintable as `\u{…}`. */
function display(id: string): string {
  let shown = '';
  let count = 0;
  for (const character of id) {
    if (count++ === 40) return `"${shown}…"`;
    shown += escaped(character);
  }
  return `"${shown}"`;
}

function escaped(character: string): string {
  const code = character.codePointAt(0) as number;
  if (unprintableName(code) !== undefined || (code >= 0xd800 && code <= 0xdfff)) {
    return `\\u{${code.toString(16).toUpperCase()}}`;
  }
  return character === '"' || character === '\\' ? `\\${character}` : character;
}
