import type { EntryId } from '@luact/core';
import {
  type Infer,
  list,
  object,
  record,
  reference,
  required,
  sourceText,
  string,
  withDefault,
} from '../schema/index.js';

const LUA_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MODULE_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

const code = {
  source: required(sourceText()),
  /** Built-in modules the code may `require`. */
  modules: withDefault(
    list(string({ pattern: MODULE_NAME, hint: 'a module name' })),
    [] as string[],
  ),
  /**
   * `require(alias)` → what a library.lua entry's chunk returns; a function.lua entry may be
   * imported too (Wippy allows it): `require` then gives what its chunk returns.
   */
  imports: withDefault(
    record(reference(['library.lua', 'function.lua']), {
      pattern: LUA_IDENTIFIER,
      hint: 'a Lua identifier',
    }),
    {} as Record<string, EntryId>,
  ),
};

const method = withDefault(
  string({ pattern: LUA_IDENTIFIER, hint: 'a Lua function name' }),
  'main',
);

export const functionLua = object({ ...code, method });
export const processLua = object({ ...code, method });
export const workflowLua = object({ ...code, method });
export const libraryLua = object(code);

export type LuaCodeConfig = Infer<typeof functionLua>;
export type LibraryConfig = Infer<typeof libraryLua>;
