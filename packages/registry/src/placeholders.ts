/**
 * `${env:NAME}` and `${env:NAME|default}` placeholders in string fields. They stay in the registry
 * as written and are resolved when an entry is activated, so a changed environment or a secret
 * never ends up copied into the registry itself.
 */

const OPENING = '${env:';
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type PlaceholderPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'env'; readonly variable: string; readonly fallback: string | undefined };

export type PlaceholderParse =
  | { readonly ok: true; readonly parts: readonly PlaceholderPart[] }
  | { readonly ok: false; readonly error: string };

export function hasPlaceholder(text: string): boolean {
  return text.includes(OPENING);
}

export function parsePlaceholders(text: string): PlaceholderParse {
  const parts: PlaceholderPart[] = [];
  let rest = text;
  for (let at = rest.indexOf(OPENING); at >= 0; at = rest.indexOf(OPENING)) {
    if (at > 0) parts.push({ type: 'text', text: rest.slice(0, at) });
    const close = rest.indexOf('}', at);
    if (close < 0) return { ok: false, error: `unclosed placeholder "${rest.slice(at)}"` };
    const body = rest.slice(at + OPENING.length, close);
    const bar = body.indexOf('|');
    const variable = bar < 0 ? body : body.slice(0, bar);
    if (!VARIABLE_NAME.test(variable)) {
      return {
        ok: false,
        error: `placeholder "${rest.slice(at, close + 1)}" needs a variable name like \${env:DB_URL}`,
      };
    }
    parts.push({ type: 'env', variable, fallback: bar < 0 ? undefined : body.slice(bar + 1) });
    rest = rest.slice(close + 1);
  }
  if (rest !== '') parts.push({ type: 'text', text: rest });
  return { ok: true, parts };
}

export type Environment = Readonly<Record<string, string | undefined>>;

export type PlaceholderResolution =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly missing: readonly string[] };

/** Substitutes every placeholder of already-parsed text; lists the variables that are unset. */
export function resolvePlaceholders(
  parts: readonly PlaceholderPart[],
  env: Environment,
): PlaceholderResolution {
  let text = '';
  const missing: string[] = [];
  for (const part of parts) {
    if (part.type === 'text') {
      text += part.text;
      continue;
    }
    const value = env[part.variable] ?? part.fallback;
    if (value === undefined) missing.push(part.variable);
    else text += value;
  }
  return missing.length === 0 ? { ok: true, text } : { ok: false, missing };
}
