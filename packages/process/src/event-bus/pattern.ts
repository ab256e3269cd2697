/**
 * Subscription patterns of the event bus, for a system or a kind. Both are dotted names
 * (`orders.eu.created`); a pattern is matched segment by segment:
 *
 * - `name`: that segment exactly;
 * - `(a|b)`: one of the alternatives;
 * - `*`: any one segment, and as the last segment any one or more (so `test.*` matches
 *   everything under `test.`, as it does in Wippy's Lua module); `*` alone matches everything;
 * - `**`: any number of segments, none included.
 *
 * Patterns are compiled once, when subscribing.
 */

type Segment =
  | { readonly type: 'exact'; readonly text: string }
  | { readonly type: 'one-of'; readonly texts: readonly string[] }
  | { readonly type: 'any' }
  | { readonly type: 'any-depth' };

export interface EventPattern {
  /** The pattern as written. */
  readonly text: string;
  matches(name: string): boolean;
}

const ALTERNATION = /^\(([^()|]+(?:\|[^()|]+)*)\)$/;

/** The pattern `text`, or the reason it is not one. */
export function compilePattern(text: string): EventPattern | string {
  if (text === '') return 'a pattern must not be empty';
  const segments: Segment[] = [];
  for (const part of text.split('.')) {
    if (part === '') return `pattern "${text}" has an empty segment (two dots, or a dot at an end)`;
    if (part === '**') segments.push({ type: 'any-depth' });
    else if (part === '*') segments.push({ type: 'any' });
    else if (part.startsWith('(')) {
      const alternatives = ALTERNATION.exec(part);
      if (!alternatives) return `pattern "${text}": "${part}" is not an alternation like (a|b)`;
      segments.push({ type: 'one-of', texts: (alternatives[1] as string).split('|') });
    } else if (/[*()|]/.test(part)) {
      return `pattern "${text}": "${part}" mixes a wildcard with text; a segment is a name, *, ** or (a|b)`;
    } else segments.push({ type: 'exact', text: part });
  }
  return { text, matches: (name) => matchFrom(segments, 0, name.split('.'), 0) };
}

function matchFrom(
  segments: readonly Segment[],
  at: number,
  parts: readonly string[],
  from: number,
): boolean {
  for (let i = at; i < segments.length; i++) {
    const segment = segments[i] as Segment;
    const last = i === segments.length - 1;
    if (segment.type === 'any-depth') {
      if (last) return true;
      for (let skip = from; skip <= parts.length; skip++) {
        if (matchFrom(segments, i + 1, parts, skip)) return true;
      }
      return false;
    }
    if (from >= parts.length) return false;
    const part = parts[from] as string;
    if (segment.type === 'any') {
      if (last) return true;
    } else if (segment.type === 'exact') {
      if (part !== segment.text) return false;
    } else if (!segment.texts.includes(part)) {
      return false;
    }
    from++;
  }
  return from === parts.length;
}
