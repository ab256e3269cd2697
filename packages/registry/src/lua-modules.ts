import type { Diagnostic } from './diagnostics.js';
import { diagnosticAt, type Entry } from './entry.js';
import { closestMatch } from './suggest.js';

/**
 * Lua's own libraries, which people list in `modules:` by habit: what luact gives instead.
 * Only the names; the sandbox itself is @luact/lua's business.
 */
const LUA_LIBRARIES: Readonly<Record<string, string>> = {
  io: 'the sandbox has no io',
  debug: 'the sandbox has no debug',
  package: 'the sandbox has no package; library.lua entries go under imports:',
};

/**
 * One diagnostic per name in a Lua entry's `modules:` list that is not among `known` (the
 * built-in modules of where it runs, which only the runtime knows): each names the module,
 * the entry, and the list item's file and line, with a "did you mean" for a likely typo among
 * `offered` (the modules this kind of entry may list; default: all of `known`).
 * Checked before any Lua runs, so every unknown module is reported, not just the first.
 */
export function unknownModules(
  entry: Entry,
  known: ReadonlySet<string>,
  offered: ReadonlySet<string> = known,
): Diagnostic[] {
  const listed = entry.fields.modules;
  if (!Array.isArray(listed)) return [];
  const problems: Diagnostic[] = [];
  for (const [index, name] of listed.entries()) {
    if (typeof name !== 'string' || known.has(name)) continue;
    problems.push(
      diagnosticAt(entry.origin, entry.id, {
        severity: 'error',
        code: 'unknown-module',
        message: `unknown module "${name}": ${adviceFor(name, offered)}`,
        path: ['modules', index],
        at: 'value',
      }),
    );
  }
  return problems;
}

function adviceFor(name: string, known: ReadonlySet<string>): string {
  const library = Object.hasOwn(LUA_LIBRARIES, name) ? LUA_LIBRARIES[name] : undefined;
  if (library !== undefined)
    return `that is Lua's own library, not a luact module (${library}); remove it from modules:`;
  const match = closestMatch(name, known);
  const names = [...known].sort().join(', ');
  return match !== undefined
    ? `did you mean "${match}"? (built-in modules: ${names})`
    : `there is no built-in module of that name (built-in modules: ${names}; a library.lua entry goes under imports:)`;
}
