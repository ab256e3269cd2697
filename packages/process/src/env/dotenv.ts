/**
 * The `.env` format of `env.storage.file`: one `KEY=VALUE` per line; blank lines and lines
 * starting with `#` are comments; `export ` before a key is allowed. A value may be quoted:
 * in double quotes `\n`, `\r`, `\"` and `\\` are escapes, single quotes keep the text as it
 * is. An unquoted value ends at ` #` (a comment after it) and is trimmed.
 */

const LINE = /^\s*(?:export\s+)?([A-Za-z0-9_.-]+)\s*=(.*)$/;

/** The key a line sets, or undefined for a comment or a line that sets nothing. */
function keyOf(line: string): string | undefined {
  if (/^\s*(#|$)/.test(line)) return undefined;
  return LINE.exec(line)?.[1];
}

/** The value of `key` in `text`, or undefined when no line sets it (the first line counts). */
export function readDotenv(text: string, key: string): string | undefined {
  for (const line of text.split(/\r?\n/)) {
    const match = keyOf(line) === key ? LINE.exec(line) : null;
    if (match) return parseValue(match[2] as string);
  }
  return undefined;
}

/** `text` with `key` set to `value`: its line replaced in place (comments kept), else added. */
export function writeDotenv(text: string, key: string, value: string): string {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const assignment = `${key}=${formatValue(value)}`;
  const at = lines.findIndex((line) => keyOf(line) === key);
  if (at >= 0) lines[at] = assignment;
  else lines.push(assignment);
  return `${lines.join('\n')}\n`;
}

function parseValue(raw: string): string {
  const text = raw.trim();
  if (text.startsWith('"')) {
    let out = '';
    for (let i = 1; i < text.length; i++) {
      const c = text[i] as string;
      if (c === '"') return out;
      if (c === '\\' && i + 1 < text.length) {
        const next = text[++i] as string;
        out += next === 'n' ? '\n' : next === 'r' ? '\r' : next;
      } else out += c;
    }
    return out;
  }
  if (text.startsWith("'")) {
    const end = text.indexOf("'", 1);
    return end < 0 ? text.slice(1) : text.slice(1, end);
  }
  const comment = text.search(/\s#/);
  return (comment < 0 ? text : text.slice(0, comment)).trimEnd();
}

function formatValue(value: string): string {
  if (!/[\s#"'\\]/.test(value)) return value;
  return `"${value
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')}"`;
}
