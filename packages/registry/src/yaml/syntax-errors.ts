import { Parser, type YAMLError } from 'yaml';
import type { Diagnostic } from '../diagnostics.js';

/** A parser error as a diagnostic, still to be placed (see syntaxErrorOffset). */
export interface SyntaxProblem extends Omit<Diagnostic, 'location'> {
  readonly error: YAMLError;
}

/**
 * The parser's errors of one document. Nesting too deep for the parser ends in a stack
 * overflow it reports as RESOURCE_EXHAUSTION (sometimes twice, the second one mangled): one
 * diagnostic says so in words a person can act on.
 */
export function syntaxProblems(errors: readonly YAMLError[]): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  let tooDeep = false;
  for (const error of errors) {
    if (error.code === 'RESOURCE_EXHAUSTION') {
      if (tooDeep) continue;
      tooDeep = true;
      problems.push({
        severity: 'error',
        code: 'yaml-nesting',
        message:
          'collections nest too deeply here for the YAML parser (it ran out of stack); flatten this value',
        error,
      });
      continue;
    }
    problems.push({
      severity: 'error',
      code: 'yaml-syntax',
      message: error.message.split('\n')[0] ?? error.message,
      error,
    });
  }
  return problems;
}

/**
 * Where a syntax error should point. The parser notices an unclosed quote only at the end of
 * the file; the useful place is where the quoted string began.
 */
export function syntaxErrorOffset(text: string, error: YAMLError): number {
  const noticedAt = error.pos[0];
  if (error.code !== 'MISSING_CHAR' || !error.message.includes('quote')) return noticedAt;
  let start: number | undefined;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const token = node as { type?: unknown; offset?: unknown; source?: unknown };
    if (
      (token.type === 'double-quoted-scalar' || token.type === 'single-quoted-scalar') &&
      typeof token.offset === 'number' &&
      typeof token.source === 'string' &&
      token.offset <= noticedAt &&
      !isClosed(token.source)
    ) {
      start = Math.max(start ?? 0, token.offset);
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit([...new Parser().parse(text)]);
  return start ?? noticedAt;
}

function isClosed(source: string): boolean {
  const quote = source[0];
  if (source.length < 2 || source[source.length - 1] !== quote) return false;
  if (quote === "'") return true;
  let backslashes = 0;
  for (let i = source.length - 2; i > 0 && source[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}
