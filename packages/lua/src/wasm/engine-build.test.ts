import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const WASM = new URL('../../wasm/', import.meta.url);
const SOURCES = new URL('lua-5.4.6/', WASM);

function sha256(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** What build.sh hashes: the .c files, then the .h files (C order), the patch, our allocator. */
function sourcesHash(): string {
  const names = readdirSync(SOURCES).sort();
  const files = [
    ...names.filter((name) => name.endsWith('.c')),
    ...names.filter((name) => name.endsWith('.h')),
  ].map((name) => readFileSync(new URL(name, SOURCES)));
  return sha256(
    ...files,
    readFileSync(new URL('luact.patch', WASM)),
    readFileSync(new URL('luact_heap.c', WASM)),
  );
}

describe('the committed Lua engine', () => {
  const info = JSON.parse(readFileSync(new URL('engine/build-info.json', WASM), 'utf8')) as {
    sources: string;
    wasm: string;
    flags: string[];
  };

  it('was built from the vendored sources, the patch and our allocator as they are now (else run wasm/build.sh)', () => {
    expect(info.sources).toBe(sourcesHash());
  });

  it('is the binary build.sh recorded, built with WebAssembly exceptions', () => {
    expect(sha256(readFileSync(new URL('engine/lua.wasm', WASM)))).toBe(info.wasm);
    expect(info.flags).toContain('-fwasm-exceptions');
  });
});
