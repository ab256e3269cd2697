/**
 * The modules a Lua source requires by a literal name (`require("json")`, `require 'time'`,
 * `require[[uuid]]`). Dynamic requires cannot be seen here; they are checked when they run.
 */
export function literalRequires(
  source: string,
): { readonly name: string; readonly line: number }[] {
  const found: { name: string; line: number }[] = [];
  const pattern = /(?<![\w.:])require\s*(?:\(\s*)?(?:"([^"\n]*)"|'([^'\n]*)'|\[\[([^\]\n]*)\]\])/g;
  const code = stripComments(source);
  for (const match of code.matchAll(pattern)) {
    const name = match[1] ?? match[2] ?? match[3] ?? '';
    found.push({ name, line: lineAt(code, match.index ?? 0) });
  }
  return found;
}

/** Comments become spaces (newlines kept), so commented-out requires are not counted. */
function stripComments(source: string): string {
  return source
    .replace(/--\[(=*)\[[\s\S]*?\]\1\]/g, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/--[^\n]*/g, (line) => ' '.repeat(line.length));
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
