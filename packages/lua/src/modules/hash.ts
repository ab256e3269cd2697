import { createHash, createHmac } from 'node:crypto';
import { LuactError } from '@luact/core';
import type { LuaModuleSpec } from '../vm/host-function.js';
import { luaSource } from '../vm/kernel-files.js';
import type { LuaVm } from '../vm/lua-vm.js';
import type { LuaState } from '../wasm/lua-api.js';

/** The digests the module offers, by the names node:crypto knows them by. */
const ALGORITHMS: ReadonlySet<string> = new Set(['md5', 'sha1', 'sha256', 'sha512']);

/**
 * FNV-1 (multiply, then xor each byte), 32 bits. FNV-1, not FNV-1a: it is what Wippy's `hash.fnv32`
 * computes, so a value stored or used for partitioning there is the same here.
 */
export function fnv1_32(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = (Math.imul(hash, 0x01000193) ^ byte) >>> 0;
  return hash;
}

/**
 * FNV-1, 64 bits, as a signed 64-bit integer (two's complement: a Lua integer holds all 64 bits).
 * Computed on two 32-bit halves: BigInt arithmetic per byte would be many times slower. The
 * prime is 2^40 + 0x1b3, so h·prime = (h << 40) + h·0x1b3.
 */
export function fnv1_64(bytes: Uint8Array): bigint {
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const byte of bytes) {
    const low = lo * 0x1b3; // < 2^41: exact in a double
    const carry = Math.floor(low / 0x1_0000_0000);
    hi = (hi * 0x1b3 + carry + lo * 0x100) >>> 0;
    lo = ((low >>> 0) ^ byte) >>> 0;
  }
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
}

function algorithmArgument(L: LuaState, vm: LuaVm): string {
  const algorithm = vm.stack.text(L, 1) ?? '';
  if (!ALGORITHMS.has(algorithm)) {
    throw new LuactError('INVALID', `hash: unknown digest "${algorithm}"`, { retryable: false });
  }
  return algorithm;
}

function pushDigest(L: LuaState, vm: LuaVm, digest: Buffer, raw: boolean): number {
  if (raw) vm.stack.pushBytes(L, digest);
  else vm.stack.pushString(L, digest.toString('hex'));
  return 1;
}

/**
 * The `hash` module (docs/lua-api/hash.md). The Lua side checks the arguments and makes the
 * error objects; the digests are node:crypto's, over the bytes of Lua strings.
 */
export function hashModule(): LuaModuleSpec {
  return {
    name: 'hash',
    scope: 'module',
    source: luaSource('modules/hash.lua'),
    functions: {
      /** digest(algorithm, data, raw) → hex text, or the raw bytes */
      digest(L, vm) {
        const algorithm = algorithmArgument(L, vm);
        const data = vm.stack.bytes(L, 2) ?? new Uint8Array();
        return pushDigest(
          L,
          vm,
          createHash(algorithm).update(data).digest(),
          vm.stack.boolean(L, 3),
        );
      },
      /** hmac(algorithm, data, secret, raw) → hex text, or the raw bytes */
      hmac(L, vm) {
        const algorithm = algorithmArgument(L, vm);
        const data = vm.stack.bytes(L, 2) ?? new Uint8Array();
        const secret = vm.stack.bytes(L, 3) ?? new Uint8Array();
        const mac = createHmac(algorithm, secret).update(data).digest();
        return pushDigest(L, vm, mac, vm.stack.boolean(L, 4));
      },
      fnv32(L, vm) {
        vm.stack.pushInteger(L, fnv1_32(vm.stack.bytes(L, 1) ?? new Uint8Array()));
        return 1;
      },
      fnv64(L, vm) {
        vm.stack.pushInteger(L, fnv1_64(vm.stack.bytes(L, 1) ?? new Uint8Array()));
        return 1;
      },
    },
  };
}
