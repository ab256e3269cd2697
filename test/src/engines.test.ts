import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './luact-cli.js';

interface Manifest {
  readonly name?: string;
  readonly version?: string;
  readonly engines?: { readonly node?: string };
}

function manifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

/** Every installed package (nested ones too) with the Node.js versions it declares. */
function installed(modules: string): Manifest[] {
  const found: Manifest[] = [];
  for (const name of readdirSync(modules).filter((n) => !n.startsWith('.'))) {
    const dir = path.join(modules, name);
    if (name.startsWith('@')) {
      found.push(...installed(dir));
      continue;
    }
    const own = manifest(dir);
    if (own) found.push(own);
    const nested = path.join(dir, 'node_modules');
    if (readdirSync(dir).includes('node_modules')) found.push(...installed(nested));
  }
  return found;
}

describe('the supported Node.js versions', () => {
  const declared = manifest(REPO_ROOT)?.engines?.node ?? '';
  const oldest = semver.minVersion(declared)?.version ?? '';

  it('are what every dependency supports: npm ci warns EBADENGINE for none of them', () => {
    expect(oldest).not.toBe('');
    const unsupported = installed(path.join(REPO_ROOT, 'node_modules'))
      .filter((pkg) => pkg.engines?.node !== undefined)
      .filter(
        (pkg) =>
          !semver.satisfies(oldest, pkg.engines?.node as string) ||
          !semver.satisfies(process.versions.node, pkg.engines?.node as string),
      )
      .map((pkg) => `${pkg.name}@${pkg.version} needs node ${pkg.engines?.node}`);
    expect(unsupported, `the root package.json says node ${declared}`).toEqual([]);
  });

  it('include the one this suite runs on', () => {
    expect(semver.satisfies(process.versions.node, declared)).toBe(true);
  });
});
