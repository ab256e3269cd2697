import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  createHmac,
  pbkdf2Sync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { LuactError } from '@luact/core';
import type { HostFunction, LuaModuleSpec } from '../vm/host-function.js';
import { luaSource } from '../vm/kernel-files.js';
import type { LuaVm } from '../vm/lua-vm.js';
import type { LuaState } from '../wasm/lua-api.js';
import { isJwtAlgorithm, signJwt, verifyJwt } from './jwt.js';

/**
 * Where the crypto module's randomness and time come from. In a process: the system's secure
 * random source and the VM's clock. A workflow journals the random bytes (a replay reads them
 * back) and reads workflow time; every other function of the module is a pure function of
 * its arguments.
 */
export interface CryptoSources {
  randomBytes(L: LuaState, vm: LuaVm, count: number): Uint8Array;
  nowMs(vm: LuaVm): number;
}

const PROCESS_SOURCES: CryptoSources = {
  randomBytes: (_L, _vm, count) => randomBytes(count),
  nowMs: (vm) => Number(vm.clock.now() / 1_000_000n),
};

/** The AEAD ciphers by the names the module uses; both take a 12-byte nonce, give a 16-byte tag. */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
type Aead = 'aes' | 'chacha20';

function cipherOf(aead: Aead, key: Uint8Array, nonce: Uint8Array) {
  const options = { authTagLength: TAG_BYTES };
  return aead === 'aes'
    ? createCipheriv(`aes-${key.length * 8}-gcm` as CipherGCMTypes, key, nonce, options)
    : createCipheriv('chacha20-poly1305', key, nonce, options);
}

function decipherOf(aead: Aead, key: Uint8Array, nonce: Uint8Array) {
  const options = { authTagLength: TAG_BYTES };
  return aead === 'aes'
    ? createDecipheriv(`aes-${key.length * 8}-gcm` as CipherGCMTypes, key, nonce, options)
    : createDecipheriv('chacha20-poly1305', key, nonce, options);
}

/** nonce ‖ ciphertext ‖ tag, the layout Wippy's encrypt.aes and encrypt.chacha20 produce. */
export function seal(
  aead: Aead,
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
): Uint8Array {
  const cipher = cipherOf(aead, key, nonce);
  if (aad !== undefined) cipher.setAAD(aad, { plaintextLength: plaintext.length });
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/**
 * The plaintext of what `seal` made, or undefined when anything (key, nonce, ciphertext, tag,
 * AAD) differs: no byte of an unauthenticated plaintext is handed out.
 */
export function open(
  aead: Aead,
  key: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array | undefined,
): Uint8Array | undefined {
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES);
  const decipher = decipherOf(aead, key, nonce);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  if (aad !== undefined) decipher.setAAD(aad, { plaintextLength: body.length });
  const plaintext = decipher.update(body);
  try {
    return Buffer.concat([plaintext, decipher.final()]);
  } catch {
    plaintext.fill(0);
    return undefined;
  }
}

/**
 * `length` bytes drawn uniformly from `charset` (a byte each): 16-bit draws, those in the
 * incomplete top range rejected, so no byte of the charset is likelier than another.
 */
export function randomString(
  draw: (count: number) => Uint8Array,
  length: number,
  charset: Uint8Array,
): Uint8Array {
  const size = charset.length;
  const limit = 65536 - (65536 % size);
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const bytes = draw(2 * (length - filled) + 16);
    for (let i = 0; i + 1 < bytes.length && filled < length; i += 2) {
      const value = (bytes[i] as number) | ((bytes[i + 1] as number) << 8);
      if (value < limit) out[filled++] = charset[value % size] as number;
    }
  }
  return out;
}

/** Runs `compute`; a LuactError it throws is answered as (false, kind, message) for the Lua side. */
function answer(L: LuaState, vm: LuaVm, compute: () => Uint8Array | string): number {
  let result: Uint8Array | string;
  try {
    result = compute();
  } catch (error) {
    if (!(error instanceof LuactError)) throw error;
    vm.stack.pushBoolean(L, false);
    vm.stack.pushString(L, error.kind);
    vm.stack.pushString(L, error.message);
    return 3;
  }
  if (typeof result === 'string') vm.stack.pushString(L, result);
  else vm.stack.pushBytes(L, result);
  return 1;
}

function bytesAt(L: LuaState, vm: LuaVm, index: number): Uint8Array {
  return vm.stack.bytes(L, index) ?? new Uint8Array();
}

function optionalBytes(L: LuaState, vm: LuaVm, index: number): Uint8Array | undefined {
  return vm.stack.isString(L, index) ? bytesAt(L, vm, index) : undefined;
}

function aeadFunctions(sources: CryptoSources): Record<string, HostFunction> {
  const aeadOf = (L: LuaState, vm: LuaVm): Aead =>
    vm.stack.text(L, 1) === 'aes' ? 'aes' : 'chacha20';
  return {
    /** seal(aead, key, plaintext, aad?) → nonce ‖ ciphertext ‖ tag (the nonce drawn here) */
    seal(L, vm) {
      const nonce = sources.randomBytes(L, vm, NONCE_BYTES);
      const sealed = seal(
        aeadOf(L, vm),
        bytesAt(L, vm, 2),
        nonce,
        bytesAt(L, vm, 3),
        optionalBytes(L, vm, 4),
      );
      vm.stack.pushBytes(L, sealed);
      return 1;
    },
    /** open(aead, key, sealed, aad?) → plaintext, or false when it does not authenticate */
    open(L, vm) {
      const plaintext = open(
        aeadOf(L, vm),
        bytesAt(L, vm, 2),
        bytesAt(L, vm, 3),
        optionalBytes(L, vm, 4),
      );
      if (plaintext === undefined) vm.stack.pushBoolean(L, false);
      else vm.stack.pushBytes(L, plaintext);
      return 1;
    },
  };
}

function jwtFunctions(sources: CryptoSources): Record<string, HostFunction> {
  // The Lua side lets only the algorithms of JWT_ALGORITHMS through.
  const algorithmAt = (L: LuaState, vm: LuaVm, index: number) => {
    const name = vm.stack.text(L, index) ?? '';
    if (!isJwtAlgorithm(name)) throw new Error(`crypto: unchecked JWT algorithm ${name}`);
    return name;
  };
  return {
    /** jwt_sign(alg, header_json, claims_json, key) → token | false, kind, message */
    jwt_sign(L, vm) {
      const algorithm = algorithmAt(L, vm, 1);
      const header = JSON.parse(vm.stack.text(L, 2) ?? '{}') as Record<string, unknown>;
      const claims = vm.stack.text(L, 3) ?? '{}';
      return answer(L, vm, () => signJwt(algorithm, header, claims, bytesAt(L, vm, 4)));
    },
    /** jwt_verify(token, alg, key, require_exp) → claims_json | false, kind, message */
    jwt_verify(L, vm) {
      const token = vm.stack.text(L, 1) ?? '';
      const check = {
        algorithm: algorithmAt(L, vm, 2),
        key: bytesAt(L, vm, 3),
        requireExp: vm.stack.boolean(L, 4),
        nowMs: sources.nowMs(vm),
      };
      return answer(L, vm, () => verifyJwt(token, check));
    },
  };
}

/**
 * The `crypto` module (docs/lua-api/crypto.md). The Lua side checks arguments and makes the
 * error objects; node:crypto computes.
 */
export function cryptoModule(sources: CryptoSources = PROCESS_SOURCES): LuaModuleSpec {
  return {
    name: 'crypto',
    scope: 'module',
    source: luaSource('modules/crypto.lua'),
    functions: {
      /** random_bytes(n) → n bytes | false, kind, message (more than a workflow may journal) */
      random_bytes(L, vm) {
        const count = vm.stack.integer(L, 1);
        return answer(L, vm, () => sources.randomBytes(L, vm, count));
      },
      /** random_string(n, charset) → n bytes of charset | false, kind, message */
      random_string(L, vm) {
        const draw = (count: number) => sources.randomBytes(L, vm, count);
        const length = vm.stack.integer(L, 1);
        const charset = bytesAt(L, vm, 2);
        return answer(L, vm, () => randomString(draw, length, charset));
      },
      /** hmac(digest, key, data) → lowercase hex */
      hmac(L, vm) {
        const mac = createHmac(vm.stack.text(L, 1) ?? '', bytesAt(L, vm, 2));
        vm.stack.pushString(L, mac.update(bytesAt(L, vm, 3)).digest('hex'));
        return 1;
      },
      /** pbkdf2(password, salt, iterations, length, digest) → the derived key's bytes */
      pbkdf2(L, vm) {
        const key = pbkdf2Sync(
          bytesAt(L, vm, 1),
          bytesAt(L, vm, 2),
          vm.stack.integer(L, 3),
          vm.stack.integer(L, 4),
          vm.stack.text(L, 5) ?? '',
        );
        vm.stack.pushBytes(L, key);
        return 1;
      },
      /** equal(a, b): timing does not depend on where two strings of one length differ */
      equal(L, vm) {
        const a = bytesAt(L, vm, 1);
        const b = bytesAt(L, vm, 2);
        vm.stack.pushBoolean(L, a.length === b.length && timingSafeEqual(a, b));
        return 1;
      },
      ...aeadFunctions(sources),
      ...jwtFunctions(sources),
    },
  };
}
