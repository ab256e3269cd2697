/**
 * Whether a command's output shows what the docs say it prints: the ```text or ```json block
 * that follows its ```sh block.
 */

/**
 * A ```text block: each non-empty line, in order, appears in the output (a line of `...`
 * alone is skipped; `...` inside a line stands for any text on that line). Returns what is
 * missing, or undefined when everything is there.
 */
export function missingTextLines(expected: string, output: string): string | undefined {
  let from = 0;
  for (const line of expected.split('\n')) {
    const wanted = line.trim();
    if (wanted === '' || wanted === '...' || wanted === '…') continue;
    const pattern = new RegExp(wanted.split('...').map(escapeRegExp).join('[^\\n]*?'));
    const found = pattern.exec(output.slice(from));
    if (!found) {
      const seen = pattern.test(output) ? ' (it is there, but before the lines above it)' : '';
      return `the output lacks the line "${wanted}"${seen}`;
    }
    from += found.index + found[0].length;
  }
  return undefined;
}

/**
 * A ```json block: some JSON value in the output (a line, or several lines from one that
 * starts with { or [) contains it: every key it names with an equal value, arrays element
 * by element. Returns what is wrong, or undefined.
 */
export function missingJson(expected: string, output: string): string | undefined {
  let wanted: unknown;
  try {
    wanted = JSON.parse(expected);
  } catch (error) {
    return `the json block is not JSON: ${(error as Error).message}`;
  }
  const values = jsonValuesIn(output);
  if (values.length === 0) return 'the output holds no JSON value';
  if (values.some((value) => contains(value, wanted))) return undefined;
  return `no JSON value of the output contains ${JSON.stringify(wanted)}`;
}

function jsonValuesIn(output: string): unknown[] {
  const lines = output.split('\n');
  const values: unknown[] = [];
  for (let start = 0; start < lines.length; start++) {
    if (!/^\s*[[{]/.test(lines[start] as string)) continue;
    for (let end = start + 1; end <= lines.length; end++) {
      try {
        values.push(JSON.parse(lines.slice(start, end).join('\n')));
        start = end - 1;
        break;
      } catch {
        // not a whole value yet: take one more line
      }
    }
  }
  return values;
}

/** `actual` has everything `wanted` has (objects: a subset of keys; arrays: same length). */
export function contains(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(actual) &&
      actual.length === wanted.length &&
      wanted.every((item, index) => contains(actual[index], item))
    );
  }
  if (wanted !== null && typeof wanted === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(wanted).every(
      ([key, value]) => Object.hasOwn(record, key) && contains(record[key], value),
    );
  }
  return Object.is(actual, wanted);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
