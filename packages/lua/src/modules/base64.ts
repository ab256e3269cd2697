import type { LuaModuleSpec } from '../vm/host-function.js';
import { luaSource } from '../vm/kernel-files.js';

const CR = 0x0d;
const LF = 0x0a;
const PAD = 0x3d; // '='

/** 1 for each byte of the standard alphabet (RFC 4648 §4): A–Z, a–z, 0–9, '+', '/'. */
const ALPHABET = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') {
  ALPHABET[c.charCodeAt(0)] = 1;
}

/** Decoded bytes, or the offset of the first byte that makes the input invalid. */
export type Base64Decoding =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly at: number };

/**
 * Decodes standard, padded base64 strictly: Node's own decoder skips characters it does not know,
 * which would turn corrupt input into wrong bytes without a word. CR and LF are skipped (base64
 * wrapped in lines, as MIME writes it, decodes); anything else outside the alphabet, a missing or
 * misplaced '=' and data after the padding are refused. Unused low bits of the last character are
 * not checked, as most decoders do not.
 */
export function decodeBase64(input: Uint8Array): Base64Decoding {
  const data = new Uint8Array(input.length);
  let length = 0;
  let padding = 0;
  let quantumStart = 0; // where in `input` the current group of four began
  for (let i = 0; i < input.length; i++) {
    const c = input[i] as number;
    if (c === CR || c === LF) continue;
    if (length % 4 === 0 && padding === 0) quantumStart = i;
    if (c === PAD) {
      // '=' only completes a group that has two or three characters of data.
      if (length % 4 < 2 || (length % 4) + padding >= 4) return { ok: false, at: i };
      padding++;
      continue;
    }
    if (padding > 0 || ALPHABET[c] !== 1) return { ok: false, at: i };
    data[length++] = c;
  }
  const rest = length % 4;
  if (rest === 1) return { ok: false, at: quantumStart };
  if (rest !== 0 && rest + padding !== 4) {
    return { ok: false, at: padding === 0 ? quantumStart : input.length };
  }
  const text = Buffer.from(data.buffer, 0, length).toString('latin1');
  return { ok: true, bytes: Buffer.from(text, 'base64') };
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/** The `base64` module (docs/lua-api/base64.md): the Lua side checks arguments and makes errors. */
export function base64Module(): LuaModuleSpec {
  return {
    name: 'base64',
    scope: 'module',
    source: luaSource('modules/base64.lua'),
    functions: {
      /** encode(data) → text */
      encode(L, vm) {
        vm.stack.pushString(L, encodeBase64(vm.stack.bytes(L, 1) ?? new Uint8Array()));
        return 1;
      },
      /** decode(text) → bytes, or nil and why */
      decode(L, vm) {
        const decoded = decodeBase64(vm.stack.bytes(L, 1) ?? new Uint8Array());
        if (decoded.ok) {
          vm.stack.pushBytes(L, decoded.bytes);
          return 1;
        }
        vm.api._lua_pushnil(L);
        vm.stack.pushString(L, `illegal base64 data at input byte ${decoded.at}`);
        return 2;
      },
    },
  };
}
