import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { VmHarness } from '../testing/vm-harness.js';
import { ManualClock } from '../vm/clock.js';

let h: VmHarness | undefined;

afterEach(() => {
  h?.close();
  h = undefined;
});

/**
 * Runs `body` (Lua, with `crypto`, `hex(bytes)` and `unhex(text)` in scope) as a process's main,
 * its arguments as `...`. jwt.verify reads the clock: 1_700_000_000_000 ms unless given.
 */
async function run(body: string, args: unknown[] = [], clock = new ManualClock()) {
  h = await VmHarness.create({ clock });
  const source = `local crypto = require("crypto")
    local function hex(bytes)
      return (bytes:gsub(".", function(c) return string.format("%02x", c:byte()) end))
    end
    local function unhex(text)
      return (text:gsub("..", function(x) return string.char(tonumber(x, 16)) end))
    end
    return { main = function(...)\n${body}\nend }`;
  return h.run(source, args, { modules: ['crypto'] });
}

/** An error as the tests compare it: kind, retryable and message. */
const ERR = `local function err_of(value, err)
  if value ~= nil then return "no error: " .. tostring(value) end
  return { err:kind(), err:retryable(), err:message() }
end`;

describe('crypto.random', () => {
  it('gives bytes, strings over a charset and v4 UUIDs of the asked length, different each call', async () => {
    const exit = await run(`
      local a, b = crypto.random.bytes(16), crypto.random.bytes(16)
      local s = crypto.random.string(64)
      local digits = crypto.random.string(200, "01")
      local id = crypto.random.uuid()
      return { #a, #b, a ~= b, #s, s:match("^[A-Za-z0-9]+$") ~= nil, #digits,
               digits:match("^[01]+$") ~= nil, digits:find("0") ~= nil and digits:find("1") ~= nil,
               id:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x+$") ~= nil, #id }`);
    expect(exit).toEqual({
      ok: true,
      value: [16, 16, true, 64, true, 200, true, true, true, 36],
    });
  });

  it('refuses lengths outside 1 … 1 MiB, non-integers and an empty charset as INVALID', async () => {
    const exit = await run(`${ERR}
      return { err_of(crypto.random.bytes(0)), err_of(crypto.random.bytes(-1)),
               err_of(crypto.random.bytes(1024 * 1024 + 1)), err_of(crypto.random.bytes(1.5)),
               err_of(crypto.random.bytes("8")), err_of(crypto.random.string(10, "")),
               #crypto.random.bytes(1024 * 1024), #crypto.random.bytes(4.0) }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        ['Invalid', false, 'crypto.random.bytes: length must be between 1 and 1048576, got 0'],
        ['Invalid', false, 'crypto.random.bytes: length must be between 1 and 1048576, got -1'],
        [
          'Invalid',
          false,
          'crypto.random.bytes: length must be between 1 and 1048576, got 1048577',
        ],
        ['Invalid', false, 'crypto.random.bytes: length must be an integer, got 1.5'],
        ['Invalid', false, 'crypto.random.bytes: length must be an integer, got string'],
        ['Invalid', false, 'crypto.random.string: charset must have 1 to 65536 bytes, got 0'],
        1024 * 1024,
        4,
      ],
    });
  });
});

describe('crypto.hmac', () => {
  it('gives the RFC 4231 results as hex, the key first and the data second', async () => {
    const exit = await run(`return {
      crypto.hmac.sha256(string.rep("\\x0b", 20), "Hi There"),
      crypto.hmac.sha512(string.rep("\\x0b", 20), "Hi There"),
      crypto.hmac.sha256("Jefe", "what do ya want for nothing?"),
      #crypto.hmac.sha256("k", ""),
    }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
        '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
        64,
      ],
    });
  });

  it('refuses an empty or missing key as INVALID', async () => {
    const exit = await run(`${ERR}
      return { err_of(crypto.hmac.sha256("", "data")), err_of(crypto.hmac.sha512(nil, "data")) }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        ['Invalid', false, 'crypto.hmac.sha256: key must not be empty'],
        ['Invalid', false, 'crypto.hmac.sha512: key must be a string, got nil'],
      ],
    });
  });
});

const GCM_KEY = 'feffe9928665731c6d6a8f9467308308';
const GCM_SEALED =
  // nonce ‖ ciphertext ‖ tag of test case 3 of the GCM specification (McGrew and Viega)
  'cafebabefacedbaddecaf888' +
  '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985' +
  '4d5c2af327cd64a62cf35abd2ba6fab4';
const GCM_PLAINTEXT =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';

describe('crypto.encrypt and crypto.decrypt', () => {
  it('open the published AES-GCM and ChaCha20-Poly1305 vectors (nonce first, tag last)', async () => {
    const exit = await run(`
      local key = {} for i = 0, 31 do key[#key + 1] = string.char(0x80 + i) end
      local sealed = unhex("070000004041424344454647" ..
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b" ..
        "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" ..
        "3ff4def08e4b7a9de576d26586cec64b6116" .. "1ae10b594f09e26a7e902ecbd0600691")
      return { hex(crypto.decrypt.aes(unhex("${GCM_SEALED}"), unhex("${GCM_KEY}"))),
               crypto.decrypt.chacha20(sealed, table.concat(key), unhex("50515253c0c1c2c3c4c5c6c7")) }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        GCM_PLAINTEXT,
        // RFC 8439 §2.8.2
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
      ],
    });
  });

  it('round-trip with every key size and AAD; a fresh nonce makes each ciphertext differ', async () => {
    const exit = await run(`
      local out = {}
      for _, case in ipairs({ { "aes", 16 }, { "aes", 24 }, { "aes", 32 }, { "chacha20", 32 } }) do
        local name, key = case[1], string.rep("k", case[2])
        local data = "a\\0b\\255 plain"
        local a = crypto.encrypt[name](data, key)
        local b = crypto.encrypt[name](data, key, "context")
        out[#out + 1] = table.concat({ name, case[2], #a - #data,
          tostring(crypto.decrypt[name](a, key) == data),
          tostring(crypto.decrypt[name](b, key, "context") == data),
          tostring(a ~= crypto.encrypt[name](data, key)) }, " ")
      end
      return out`);
    expect(exit).toEqual({
      ok: true,
      value: [
        'aes 16 28 true true true',
        'aes 24 28 true true true',
        'aes 32 28 true true true',
        'chacha20 32 28 true true true',
      ],
    });
  });

  it('give nil and an INTERNAL error, never plaintext, for a wrong key, a wrong AAD or one altered byte', async () => {
    const exit = await run(`${ERR}
      local key = string.rep("a", 32)
      local sealed = crypto.encrypt.aes("secret", key, "aad")
      local flipped = sealed:sub(1, 15) .. string.char(sealed:byte(16) ~ 1) .. sealed:sub(17)
      local truncated_tag = sealed:sub(1, -2)
      return { err_of(crypto.decrypt.aes(sealed, string.rep("b", 32), "aad")),
               err_of(crypto.decrypt.aes(sealed, key, "other")),
               err_of(crypto.decrypt.aes(sealed, key)),
               err_of(crypto.decrypt.aes(flipped, key, "aad")),
               err_of(crypto.decrypt.aes(truncated_tag, key, "aad")),
               err_of(crypto.decrypt.chacha20(crypto.encrypt.chacha20("x", key), string.rep("c", 32))) }`);
    const refused = (name: string) => [
      'Internal',
      false,
      `crypto.decrypt.${name}: the data does not authenticate (wrong key or AAD, or altered data)`,
    ];
    expect(exit).toEqual({
      ok: true,
      value: [
        refused('aes'),
        refused('aes'),
        refused('aes'),
        refused('aes'),
        refused('aes'),
        refused('chacha20'),
      ],
    });
  });

  it('refuse wrong key sizes and data shorter than a nonce and a tag as INVALID', async () => {
    const exit = await run(`${ERR}
      return { err_of(crypto.encrypt.aes("test", "short")),
               err_of(crypto.encrypt.chacha20("test", string.rep("k", 16))),
               err_of(crypto.decrypt.aes(string.rep("x", 27), string.rep("k", 16))),
               err_of(crypto.encrypt.aes(nil, string.rep("k", 16))),
               err_of(crypto.encrypt.aes("x", string.rep("k", 16), 5)) }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        [
          'Invalid',
          false,
          'crypto.encrypt.aes: key must be 16, 24 or 32 bytes (AES-128, -192, -256), got 5',
        ],
        ['Invalid', false, 'crypto.encrypt.chacha20: key must be 32 bytes, got 16'],
        [
          'Invalid',
          false,
          'crypto.decrypt.aes: data is 27 bytes, shorter than the 28 of a nonce and a tag',
        ],
        ['Invalid', false, 'crypto.encrypt.aes: data must be a string, got nil'],
        ['Invalid', false, 'crypto.encrypt.aes: aad must be a string or nil, got number'],
      ],
    });
  });
});

describe('crypto.pbkdf2', () => {
  it('derives the RFC 7914 §11 PBKDF2-HMAC-SHA256 vectors and SHA-512 keys', async () => {
    const exit = await run(`return {
      hex(crypto.pbkdf2("passwd", "salt", 1, 64)),
      hex(crypto.pbkdf2("password", "salt", 4096, 32, "sha256")),
      #crypto.pbkdf2("password", "salt", 1, 64, "sha512"),
    }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        '55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783',
        'c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a',
        64,
      ],
    });
  });

  it('refuses an empty password or salt, counts out of range and other hashes as INVALID', async () => {
    const exit = await run(`${ERR}
      return { err_of(crypto.pbkdf2("", "salt", 1, 32)), err_of(crypto.pbkdf2("pw", "", 1, 32)),
               err_of(crypto.pbkdf2("pw", "salt", 0, 32)), err_of(crypto.pbkdf2("pw", "salt", 1, 0)),
               err_of(crypto.pbkdf2("pw", "salt", 10000001, 32)),
               err_of(crypto.pbkdf2("pw", "salt", 1, 32, "md5")),
               err_of(crypto.pbkdf2("pw", "salt", 5000001, 64)),
               err_of(crypto.pbkdf2("pw", "salt", 1000, 1048576, "sha512")) }`);
    expect(exit).toEqual({
      ok: true,
      value: [
        ['Invalid', false, 'crypto.pbkdf2: password must not be empty'],
        ['Invalid', false, 'crypto.pbkdf2: salt must not be empty'],
        ['Invalid', false, 'crypto.pbkdf2: iterations must be between 1 and 10000000, got 0'],
        ['Invalid', false, 'crypto.pbkdf2: key_length must be between 1 and 1048576, got 0'],
        [
          'Invalid',
          false,
          'crypto.pbkdf2: iterations must be between 1 and 10000000, got 10000001',
        ],
        ['Invalid', false, 'crypto.pbkdf2: unsupported hash "md5" (sha256 or sha512)'],
        [
          'Invalid',
          false,
          'crypto.pbkdf2: iterations × blocks of 32 bytes of the key (5000001 × 2) must be at most 10000000',
        ],
        [
          'Invalid',
          false,
          'crypto.pbkdf2: iterations × blocks of 64 bytes of the key (1000 × 16384) must be at most 10000000',
        ],
      ],
    });
  });
});

describe('crypto.constant_time_compare', () => {
  it('is true only for equal strings, whatever their lengths', async () => {
    const exit = await run(`return {
      crypto.constant_time_compare("hello", "hello"), crypto.constant_time_compare("hello", "world"),
      crypto.constant_time_compare("hello", "hell"), crypto.constant_time_compare("", ""),
      crypto.constant_time_compare("a\\0", "a\\1") }`);
    expect(exit).toEqual({ ok: true, value: [true, false, false, true, false] });
  });
});

/** The token jwt.io shows: HS256, {"sub":"1234567890","name":"John Doe","iat":1516239022}. */
const JWT_IO =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
/** RFC 7515 appendix A.1: HS256, exp 1300819380; its key is the JWK's `k`, base64url. */
const RFC7515_A1 =
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const RFC7515_A1_KEY = Buffer.from(
  'AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow',
  'base64url',
).toString('hex');

describe('crypto.jwt', () => {
  it('verifies tokens made elsewhere: jwt.io’s, and RFC 7515 A.1’s before its exp but not after', async () => {
    const source = `${ERR}
      local token, a1, a1_key = ...
      local io_claims = crypto.jwt.verify(token, "your-256-bit-secret", "HS256", false)
      local a1_claims, a1_err = crypto.jwt.verify(a1, unhex(a1_key))
      return { io_claims.sub, io_claims.name, io_claims.iat, math.type(io_claims.iat),
               a1_claims and a1_claims.iss or a1_err:message(),
               a1_claims and a1_claims["http://example.com/is_root"] }`;
    const args = [JWT_IO, RFC7515_A1, RFC7515_A1_KEY];
    const before = await run(source, args, new ManualClock(1_300_819_379_000));
    expect(before).toEqual({
      ok: true,
      value: ['1234567890', 'John Doe', 1516239022, 'integer', 'joe', true],
    });
    h?.close();
    const after = await run(source, args, new ManualClock(1_300_819_380_000));
    expect(after).toEqual({
      ok: true,
      value: [
        '1234567890',
        'John Doe',
        1516239022,
        'integer',
        'crypto.jwt.verify: the token has expired',
      ],
    });
  });

  it('encodes claims and a custom header that verify again; the header cannot change the algorithm', async () => {
    const exit = await run(`
      local token = crypto.jwt.encode({ sub = "u1", exp = 1700000100, roles = { "a", "b" },
                                        _header = { kid = "key-1", alg = "none" } }, "secret", "HS512")
      local header = token:match("^([^.]+)")
      local claims = crypto.jwt.verify(token, "secret", "HS512")
      return { header, claims.sub, claims.roles[2], claims._header == nil, select("#", token:gsub("%.", "")) }`);
    const header = Buffer.from((exit as { value: string[] }).value[0] as string, 'base64url');
    expect(JSON.parse(header.toString())).toEqual({ kid: 'key-1', alg: 'HS512', typ: 'JWT' });
    expect(exit).toMatchObject({ ok: true, value: [expect.any(String), 'u1', 'b', true, 2] });
  });

  it('refuses a wrong key, another algorithm, alg "none", a missing or past exp and a future nbf', async () => {
    const exit = await run(`${ERR}
      local good = crypto.jwt.encode({ exp = 1700000100 }, "secret")
      local hs384 = crypto.jwt.encode({ exp = 1700000100 }, "secret", "HS384")
      local no_exp = crypto.jwt.encode({ sub = "x" }, "secret")
      local past = crypto.jwt.encode({ exp = 1700000000 }, "secret")
      local early = crypto.jwt.encode({ exp = 1700000100, nbf = 1700000050 }, "secret")
      local unsigned = "eyJhbGciOiJub25lIn0." .. good:match("^[^.]+%.([^.]+)") .. "."
      return { err_of(crypto.jwt.verify(good, "wrong")), err_of(crypto.jwt.verify(hs384, "secret")),
               err_of(crypto.jwt.verify(unsigned, "secret")),
               err_of(crypto.jwt.verify(unsigned, "secret", "none")),
               err_of(crypto.jwt.verify(no_exp, "secret")), crypto.jwt.verify(no_exp, "secret", "HS256", false).sub,
               err_of(crypto.jwt.verify(past, "secret")), err_of(crypto.jwt.verify(early, "secret")),
               err_of(crypto.jwt.verify("invalid.token.here", "secret")),
               err_of(crypto.jwt.verify("a.b", "secret")),
               err_of(crypto.jwt.encode({}, "secret", "none")), err_of(crypto.jwt.encode({}, "")),
               err_of(crypto.jwt.encode("claims", "secret")), err_of(crypto.jwt.encode({ 1, 2 }, "secret")) }`);
    const rejected = (message: string) => ['Internal', false, `crypto.jwt.verify: ${message}`];
    expect(exit).toEqual({
      ok: true,
      value: [
        rejected('the signature does not match'),
        rejected('the token is signed with "HS384", not HS256'),
        rejected('the token is signed with "none", not HS256'),
        [
          'Invalid',
          false,
          'crypto.jwt.verify: unsupported algorithm "none" (HS256, HS384, HS512, RS256, RS384 or RS512)',
        ],
        rejected('the token has no exp claim'),
        'x',
        rejected('the token has expired'),
        rejected('the token is not valid yet (nbf)'),
        rejected('the header is not base64url'),
        rejected('the token is not three base64url segments joined by dots'),
        [
          'Invalid',
          false,
          'crypto.jwt.encode: unsupported algorithm "none" (HS256, HS384, HS512, RS256, RS384 or RS512)',
        ],
        ['Invalid', false, 'crypto.jwt.encode: key must not be empty'],
        ['Invalid', false, 'crypto.jwt.encode: claims must be a table, got string'],
        ['Invalid', false, 'crypto.jwt.encode: claims must have string keys, not be an array'],
      ],
    });
  });

  it('signs RS256 with a PEM private key (node:crypto verifies it) and verifies with the public key', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const short = generateKeyPairSync('rsa', { modulusLength: 512 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const exit = await run(
      `${ERR}
      local private, public, short = ...
      local token = crypto.jwt.encode({ sub = "rsa", exp = 1700000100 }, private, "RS256")
      return { token, crypto.jwt.verify(token, public, "RS256").sub,
               err_of(crypto.jwt.verify(token, "secret", "RS256")),
               err_of(crypto.jwt.verify(token, public)),
               err_of(crypto.jwt.encode({}, "not a key", "RS256")),
               err_of(crypto.jwt.encode({}, short, "RS512")) }`,
      [privatePem, publicPem, short],
    );
    const value = (exit as { value: unknown[] }).value;
    const [input, signature] = [
      (value[0] as string).split('.').slice(0, 2).join('.'),
      (value[0] as string).split('.')[2] as string,
    ];
    expect(
      verify(
        'sha256',
        Buffer.from(input),
        createPublicKey(publicPem),
        Buffer.from(signature, 'base64url'),
      ),
    ).toBe(true);
    expect(value.slice(1)).toEqual([
      'rsa',
      ['Invalid', false, 'crypto.jwt.verify: the key is not a PEM public key'],
      ['Internal', false, 'crypto.jwt.verify: the token is signed with "RS256", not HS256'],
      ['Invalid', false, 'crypto.jwt.encode: the key is not a PEM private key'],
      ['Invalid', false, 'crypto.jwt.encode: the key is too short to sign RS512'],
    ]);
  });
});
