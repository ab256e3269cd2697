import { describe, expect, it } from 'vitest';
import { moduleSnippets } from '../testing/vm-harness.js';

/** Runs `body` (Lua, with `base64` in scope) as a process's main function; resolves its exit. */
const run = moduleSnippets('base64');

/** Lua that returns `{ value, kind is INVALID, retryable, message }` of `call`'s two results. */
function failure(call: string): string {
  return `local value, err = ${call}
          return { value == nil, err:kind() == errors.INVALID, err:retryable(), err:message() }`;
}

describe('base64.encode', () => {
  it('encodes the test vectors of RFC 4648 section 10', async () => {
    const exit = await run(`local out = {}
      for _, s in ipairs({ "", "f", "fo", "foo", "foob", "fooba", "foobar" }) do
        out[#out + 1] = base64.encode(s)
      end
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: ['', 'Zg==', 'Zm8=', 'Zm9v', 'Zm9vYg==', 'Zm9vYmE=', 'Zm9vYmFy'],
    });
  });

  it('encodes every byte value, NUL and 0xff included, and decodes them back', async () => {
    const exit = await run(`local bytes = {}
      for i = 0, 255 do bytes[#bytes + 1] = string.char(i) end
      local all = table.concat(bytes)
      local text = base64.encode(all)
      return { text, base64.decode(text) == all }`);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(exit).toEqual({ ok: true, value: [all.toString('base64'), true] });
  });

  it('returns nil and an INVALID error naming the function for a value that is not a string', async () => {
    expect(await run(failure('base64.encode(42)'))).toEqual({
      ok: true,
      value: [true, true, false, 'base64.encode: data must be a string, got number'],
    });
  });
});

describe('base64.decode', () => {
  it('decodes the test vectors of RFC 4648 section 10', async () => {
    const exit = await run(`local out = {}
      for _, s in ipairs({ "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" }) do
        out[#out + 1] = base64.decode(s)
      end
      return out`);
    expect(exit).toEqual({ ok: true, value: ['', 'f', 'fo', 'foo', 'foob', 'fooba', 'foobar'] });
  });

  it('skips line breaks, as base64 wrapped in lines has them', async () => {
    expect(await run(`return base64.decode("Zm9v\\r\\nYmFy\\n")`)).toEqual({
      ok: true,
      value: 'foobar',
    });
  });

  it('refuses a character outside the alphabet with a non-retryable INVALID error giving its offset', async () => {
    expect(await run(failure('base64.decode("!!!invalid!!!")'))).toEqual({
      ok: true,
      value: [true, true, false, 'base64.decode: illegal base64 data at input byte 0'],
    });
    expect(await run(failure('base64.decode("Zm9v YmFy")'))).toMatchObject({
      value: [true, true, false, 'base64.decode: illegal base64 data at input byte 4'],
    });
  });

  it('refuses missing, misplaced or extra padding, and data after the padding', async () => {
    const exit = await run(`local out = {}
      for _, s in ipairs({ "Zg", "Zg=", "Z===", "Zm9v=", "Zm8==", "Zg==Zg==", "=Zm9" }) do
        local value, err = base64.decode(s)
        out[#out + 1] = value == nil and err:kind() == errors.INVALID and err:message() or "accepted"
      end
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'base64.decode: illegal base64 data at input byte 0',
        'base64.decode: illegal base64 data at input byte 3',
        'base64.decode: illegal base64 data at input byte 1',
        'base64.decode: illegal base64 data at input byte 4',
        'base64.decode: illegal base64 data at input byte 4',
        'base64.decode: illegal base64 data at input byte 4',
        'base64.decode: illegal base64 data at input byte 0',
      ],
    });
  });

  it('returns nil and an INVALID error naming the function for a value that is not a string', async () => {
    expect(await run(failure('base64.decode({})'))).toEqual({
      ok: true,
      value: [true, true, false, 'base64.decode: data must be a string, got table'],
    });
  });
});
