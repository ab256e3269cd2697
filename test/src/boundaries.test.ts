import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './luact-cli.js';

/** Every TypeScript source of a package (tests included: they are code that others copy). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((file) => file.isFile() && file.name.endsWith('.ts'))
    .map((file) => path.join(file.parentPath, file.name));
}

it('keeps the raw Lua C API inside @luact/lua: other packages bind Lua through vm.stack', () => {
  const packages = path.join(REPO_ROOT, 'packages');
  const offenders: string[] = [];
  for (const name of readdirSync(packages)) {
    if (name === 'lua') continue;
    for (const file of sources(path.join(packages, name, 'src'))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, index) => {
          if (/\.api\._lua|\.api\._luaL|\bvm\.memory\./.test(line))
            offenders.push(`${path.relative(REPO_ROOT, file)}:${index + 1}: ${line.trim()}`);
        });
    }
  }
  expect(offenders).toEqual([]);
});
