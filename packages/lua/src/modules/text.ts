import { decodeValue, encodeValue } from '../codec/wire.js';
import type { LuaModuleSpec } from '../vm/host-function.js';
import { luaSource } from '../vm/kernel-files.js';
import type { LuaVm } from '../vm/lua-vm.js';
import type { LuaState } from '../wasm/lua-api.js';
import { applyPatches, compareTexts, type DiffOptions, makePatches } from './text-diff.js';
import { RegexpCache } from './text-regexp.js';
import {
  type SplitterSettings,
  splitMarkdown,
  splitRecursive,
  withDefaults,
} from './text-splitter.js';

export interface TextModuleOptions {
  /**
   * Diffs that depend only on their texts: the time limit of a diff (`diff_timeout`, after which
   * go-diff and diff-match-patch settle for a coarser diff) is lifted. For workflows, whose
   * replays must see the same diff on any machine.
   */
  readonly deterministic?: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** diff-match-patch's own default time limit of a diff, in seconds. */
const DEFAULT_DIFF_TIMEOUT = 1;

/** The UTF-8 text of a pattern argument; patterns that are not UTF-8 are refused, as Go does. */
function patternArgument(L: LuaState, vm: LuaVm): string {
  try {
    return strictUtf8.decode(vm.stack.bytes(L, 1) ?? new Uint8Array());
  } catch {
    throw new Error('error parsing regexp: invalid UTF-8');
  }
}

function bytesArgument(L: LuaState, vm: LuaVm, index: number): Uint8Array {
  return vm.stack.bytes(L, index) ?? new Uint8Array();
}

function tableArgument<T>(L: LuaState, vm: LuaVm, index: number): T {
  return decodeValue(bytesArgument(L, vm, index)) as T;
}

function pushFailure(L: LuaState, vm: LuaVm, message: string): number {
  vm.api._lua_pushnil(L);
  vm.stack.pushString(L, message);
  return 2;
}

/**
 * The `text` module (docs/lua-api/text.md): regular expressions, diffs and patches, text
 * splitters. The Lua side checks arguments, holds the objects and makes errors; values that
 * are lists cross as msgpack.
 */
export function textModule(options: TextModuleOptions = {}): LuaModuleSpec {
  const regexps = new RegexpCache();
  const diffOptions = (L: LuaState, vm: LuaVm, index: number): DiffOptions => {
    const given = tableArgument<DiffOptions>(L, vm, index);
    if (options.deterministic) return { ...given, diffTimeout: 0 };
    // A diff runs in one go on the node's thread, where nothing preempts it: it settles for a
    // coarser one after half the time the host lets a process run unpreempted, whatever the
    // process asked for (0, no limit, included).
    const limit = vm.options.limits.maxSliceMs / 2000;
    const asked = given.diffTimeout ?? DEFAULT_DIFF_TIMEOUT;
    return { ...given, diffTimeout: asked > 0 ? Math.min(asked, limit) : limit };
  };
  return {
    name: 'text',
    scope: 'module',
    source: luaSource('modules/text.lua'),
    functions: {
      /** re_compile(pattern) → group count, group names as msgpack; or nil and why */
      re_compile(L, vm) {
        let regexp: ReturnType<RegexpCache['get']>;
        try {
          regexp = regexps.get(patternArgument(L, vm));
        } catch (error) {
          return pushFailure(L, vm, (error as Error).message);
        }
        vm.stack.pushInteger(L, regexp.groupCount);
        vm.stack.pushBytes(L, encodeValue(regexp.groupNames));
        return 2;
      },
      /** re_match(pattern, s) → whether s holds a match */
      re_match(L, vm) {
        vm.stack.pushBoolean(
          L,
          regexps.get(patternArgument(L, vm)).matches(bytesArgument(L, vm, 2)),
        );
        return 1;
      },
      /** re_find(pattern, s, limit) → msgpack list of matches, each byte offsets start, end, … */
      re_find(L, vm) {
        const regexp = regexps.get(patternArgument(L, vm));
        vm.stack.pushBytes(
          L,
          encodeValue(regexp.findAll(bytesArgument(L, vm, 2), vm.stack.integer(L, 3))),
        );
        return 1;
      },
      /** re_replace(pattern, s, template) → s with every match replaced */
      re_replace(L, vm) {
        const regexp = regexps.get(patternArgument(L, vm));
        vm.stack.pushBytes(L, regexp.replaceAll(bytesArgument(L, vm, 2), bytesArgument(L, vm, 3)));
        return 1;
      },
      /** re_split(pattern, s, limit) → msgpack list of the pieces */
      re_split(L, vm) {
        const regexp = regexps.get(patternArgument(L, vm));
        vm.stack.pushBytes(
          L,
          encodeValue(regexp.split(bytesArgument(L, vm, 2), vm.stack.integer(L, 3))),
        );
        return 1;
      },
      /** diff_compare(a, b, options) → msgpack list of { operation, text } as [op, bytes] */
      diff_compare(L, vm) {
        const pieces = compareTexts(
          bytesArgument(L, vm, 1),
          bytesArgument(L, vm, 2),
          diffOptions(L, vm, 3),
        );
        vm.stack.pushBytes(L, encodeValue(pieces.map((piece) => [piece.operation, piece.bytes])));
        return 1;
      },
      /** diff_patch_make(a, b, options) → msgpack list of patch texts */
      diff_patch_make(L, vm) {
        const patches = makePatches(
          bytesArgument(L, vm, 1),
          bytesArgument(L, vm, 2),
          diffOptions(L, vm, 3),
        );
        vm.stack.pushBytes(L, encodeValue(patches));
        return 1;
      },
      /** diff_patch_apply(patch texts, text, options) → patched text, all applied; or nil, why */
      diff_patch_apply(L, vm) {
        const outcome = applyPatches(
          tableArgument<string[]>(L, vm, 1),
          bytesArgument(L, vm, 2),
          diffOptions(L, vm, 3),
        );
        if (!outcome.ok) return pushFailure(L, vm, outcome.message);
        vm.stack.pushBytes(L, outcome.text);
        vm.stack.pushBoolean(L, outcome.allApplied);
        return 2;
      },
      /** split(kind, text, options) → msgpack list of chunks */
      split(L, vm) {
        const kind = vm.stack.text(L, 1);
        const text = vm.stack.text(L, 2) ?? '';
        const options = withDefaults(tableArgument<SplitterSettings>(L, vm, 3));
        const chunks =
          kind === 'markdown' ? splitMarkdown(text, options) : splitRecursive(text, options);
        vm.stack.pushBytes(L, encodeValue(chunks));
        return 1;
      },
    },
  };
}
