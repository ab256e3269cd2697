import { describe, expect, it } from 'vitest';
import { moduleSnippets } from '../testing/vm-harness.js';

/** Runs `body` (Lua, with `hash` and a `hex(bytes)` helper in scope) as a process's main. */
const run = moduleSnippets(
  'hash',
  `local function hex(bytes)
  return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end
`,
);

describe('hash digests', () => {
  it('give the published digests of "abc" and of the empty string as lowercase hex', async () => {
    const exit = await run(`return {
      hash.md5(""), hash.md5("abc"), hash.md5("message digest"),
      hash.sha1(""), hash.sha1("abc"),
      hash.sha256(""), hash.sha256("abc"),
      hash.sha512("abc"),
    }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        // RFC 1321 appendix A.5
        'd41d8cd98f00b204e9800998ecf8427e',
        '900150983cd24fb0d6963f7d28e17f72',
        'f96b697d7cb7938d525a2f31aaf161d0',
        // FIPS 180 examples
        'da39a3ee5e6b4b0d3255bfef95601890afd80709',
        'a9993e364706816aba3e25717850c26c9cd0d89d',
        'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
        'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      ],
    });
  });

  it('return the raw bytes when the second argument is true: the same digest, not hex', async () => {
    const exit = await run(`local raw = hash.sha256("abc", true)
      return { #raw, hex(raw) == hash.sha256("abc"), #hash.md5("abc", true),
               #hash.sha1("abc", true), #hash.sha512("abc", true), hash.md5("abc", false) }`);
    expect(exit).toEqual({
      ok: true,
      value: [32, true, 16, 20, 64, '900150983cd24fb0d6963f7d28e17f72'],
    });
  });

  it('hash every byte of the string, NUL and bytes over 0x7f included', async () => {
    const exit = await run(`return { hash.sha256("a\\0b\\255"), hash.sha256("a") }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        // the SHA-256 of the four bytes 61 00 62 ff, computed with another implementation
        'a37cc3026aae4d519e0b19c298fa913b4dccfdf0658cbccbb7deaa0226d5acdb',
        'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb',
      ],
    });
  });
});

describe('hash HMACs', () => {
  it('give the RFC 4231 (SHA-256, SHA-512), RFC 2202 (SHA-1) and RFC 2104 (MD5) results', async () => {
    const exit = await run(`local jefe, msg = "Jefe", "what do ya want for nothing?"
      return {
        hash.hmac_sha256("Hi There", string.rep("\\x0b", 20)),
        hash.hmac_sha256(msg, jefe),
        hash.hmac_sha512(msg, jefe),
        hash.hmac_sha1(msg, jefe),
        hash.hmac_md5(msg, jefe),
        #hash.hmac_sha256(msg, jefe, true),
        hex(hash.hmac_sha256(msg, jefe, true)) == hash.hmac_sha256(msg, jefe),
      }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
        '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
        'effcdf6ae5eb2fa2d27416d5f184df9c259a7c79',
        '750c783e6ab0b503eaa86e310a5db738',
        32,
        true,
      ],
    });
  });
});

describe('hash FNV', () => {
  it('computes FNV-1 (not FNV-1a) as integers: 32 bits unsigned, 64 bits in two’s complement', async () => {
    const exit = await run(`local out = {}
      for _, s in ipairs({ "", "a", "foobar" }) do
        out[#out + 1] = hash.fnv32(s)
        out[#out + 1] = string.format("%016x", hash.fnv64(s))
      end
      out[#out + 1] = math.type(hash.fnv32("a")) .. " " .. math.type(hash.fnv64("a"))
      out[#out + 1] = hash.fnv64("a") < 0
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: [
        0x811c9dc5,
        'cbf29ce484222325',
        0x050c5d7e,
        'af63bd4c8601b7be',
        0x31f0b262,
        '340d8765a4dda9c2',
        'integer integer',
        true,
      ],
    });
  });
});

describe('hash arguments', () => {
  it('a non-string is nil and a non-retryable INVALID error naming the function and the argument', async () => {
    const exit = await run(`local out = {}
      local function check(value, err)
        out[#out + 1] = value == nil and err:kind() == errors.INVALID and not err:retryable()
          and err:message() or "accepted"
      end
      check(hash.md5(42))
      check(hash.sha512(nil))
      check(hash.hmac_sha256("data", 7))
      check(hash.hmac_sha1({}, "secret"))
      check(hash.fnv64(true))
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'hash.md5: data must be a string, got number',
        'hash.sha512: data must be a string, got nil',
        'hash.hmac_sha256: secret must be a string, got number',
        'hash.hmac_sha1: data must be a string, got table',
        'hash.fnv64: data must be a string, got boolean',
      ],
    });
  });
});
