import { randomFillSync } from 'node:crypto';
import { decodeValue } from '../codec/wire.js';
import type { LuaModuleSpec } from '../vm/host-function.js';
import { luaSource } from '../vm/kernel-files.js';
import { base64Module } from './base64.js';
import { cryptoModule } from './crypto.js';
import { hashModule } from './hash.js';
import { textModule } from './text.js';
import { timeModule } from './time.js';
import { yamlModule } from './yaml.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One `logger.*` call: the level, the message, its fields, and who logged it. */
export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface BuiltinOptions {
  readonly log?: (record: LogRecord) => void;
}

/** Random bytes come from a pooled buffer: one system call per 4 KiB, not per UUID. */
function randomSource(): (n: number) => Uint8Array {
  const pool = new Uint8Array(4096);
  let offset = pool.length;
  return (n) => {
    if (n > pool.length) return randomFillSync(new Uint8Array(n));
    if (offset + n > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    offset += n;
    return pool.slice(offset - n, offset);
  };
}

/** The built-in modules of the Lua runtime itself: time, json, base64, hash, crypto, uuid, logger. */
export function builtinModules(options: BuiltinOptions = {}): LuaModuleSpec[] {
  const random = randomSource();
  return [
    timeModule(),
    { name: 'json', scope: 'module', source: luaSource('modules/json.lua') },
    yamlModule(),
    textModule(),
    base64Module(),
    hashModule(),
    cryptoModule(),
    {
      name: 'uuid',
      scope: 'module',
      source: luaSource('modules/uuid.lua'),
      functions: {
        random_bytes(L, vm) {
          vm.memory.pushBytes(L, random(vm.api._lua_tonumberx(L, 1, 0)));
          return 1;
        },
        now_ms(L, vm) {
          vm.api._lua_pushinteger(L, vm.clock.now() / 1_000_000n);
          return 1;
        },
      },
    },
    {
      name: 'logger',
      scope: 'module',
      source: luaSource('modules/logger.lua'),
      functions: {
        log(L, vm) {
          const level = (vm.memory.toString(L, 1) ?? 'info') as LogLevel;
          const message = vm.memory.toString(L, 2) ?? '';
          const encoded = vm.memory.toBytes(L, 3);
          const fields = encoded ? (decodeValue(encoded) as Record<string, unknown>) : {};
          const labels = vm.current?.group.owner.labels?.() ?? {};
          options.log?.({ level, message, fields, labels });
          return 0;
        },
      },
    },
  ];
}
