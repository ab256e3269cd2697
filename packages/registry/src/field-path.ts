/** Where a value sits inside an entry: `['lifecycle', 'restart', 'max_delay']`, `['children', 2]`. */
export type FieldPath = readonly (string | number)[];

/** `lifecycle.restart.max_delay`, `children[2].process`. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
