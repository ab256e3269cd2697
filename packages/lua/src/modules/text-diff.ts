import {
  type DiffMatchPathOptions,
  diffMain,
  type Patch,
  patchApply,
  patchFromText,
  patchMake,
  patchToText,
} from 'diff-match-patch-es';

/** Options of a differ, as diff-match-patch names them; unset ones keep its defaults. */
export type DiffOptions = DiffMatchPathOptions;

/** One piece of a diff: -1 deleted from the first text, 1 inserted, 0 in both. */
export interface DiffPiece {
  readonly operation: -1 | 0 | 1;
  readonly bytes: Uint8Array;
}

/**
 * How Lua strings become the JS strings diff-match-patch works on, and back: UTF-8 when every
 * input is UTF-8, else byte by byte (one char per byte, so any bytes come back as they were).
 */
class TextCoding {
  private readonly encoding: 'utf8' | 'latin1';

  constructor(inputs: readonly Uint8Array[]) {
    const strict = new TextDecoder('utf-8', { fatal: true });
    const allUtf8 = inputs.every((bytes) => {
      try {
        strict.decode(bytes);
        return true;
      } catch {
        return false;
      }
    });
    this.encoding = allUtf8 ? 'utf8' : 'latin1';
  }

  text(bytes: Uint8Array): string {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString(this.encoding);
  }

  bytes(text: string): Uint8Array {
    return Buffer.from(text, this.encoding);
  }
}

const ALIAS_FIRST = 0xd800;
const ALIAS_COUNT = 0x800;

/**
 * diff-match-patch compares UTF-16 code units, so it can cut a character outside the BMP (an
 * emoji) between its two halves; Go's go-diff, which Wippy uses, compares characters. Decoded
 * text never holds lone surrogates, so each such character of a call is given one of the 2048
 * surrogate code units as its stand-in while diffing: pieces never split a character, and patch
 * offsets count characters, as go-diff's do. (A call with more than 2048 different such
 * characters goes without stand-ins.)
 */
class AstralAliases {
  private readonly toAlias = new Map<number, string>();
  private readonly fromAlias = new Map<string, string>();
  private readonly usable: boolean;

  constructor(texts: readonly string[]) {
    for (const text of texts) {
      for (const char of text) {
        const code = char.codePointAt(0) as number;
        if (code <= 0xffff || this.toAlias.has(code)) continue;
        const alias = String.fromCharCode(ALIAS_FIRST + (this.toAlias.size % ALIAS_COUNT));
        this.toAlias.set(code, alias);
        this.fromAlias.set(alias, char);
      }
    }
    this.usable = this.toAlias.size <= ALIAS_COUNT;
  }

  hide(text: string): string {
    if (!this.usable || this.toAlias.size === 0) return text;
    let out = '';
    for (const char of text) out += this.toAlias.get(char.codePointAt(0) as number) ?? char;
    return out;
  }

  reveal(text: string): string {
    if (!this.usable || this.toAlias.size === 0) return text;
    return text.replace(/[\ud800-\udfff]/g, (alias) => this.fromAlias.get(alias) ?? alias);
  }
}

/** The pieces that turn `a` into `b` (go-diff's DiffMain without line mode). */
export function compareTexts(a: Uint8Array, b: Uint8Array, options: DiffOptions): DiffPiece[] {
  const coding = new TextCoding([a, b]);
  const [textA, textB] = [coding.text(a), coding.text(b)];
  const aliases = new AstralAliases([textA, textB]);
  return diffMain(aliases.hide(textA), aliases.hide(textB), options, false).map(
    ([operation, text]) => ({ operation, bytes: coding.bytes(aliases.reveal(text)) }),
  );
}

function revealPatch(patch: Patch, aliases: AstralAliases): Patch {
  return { ...patch, diffs: patch.diffs.map(([op, text]) => [op, aliases.reveal(text)]) };
}

function hidePatch(patch: Patch, aliases: AstralAliases): Patch {
  return { ...patch, diffs: patch.diffs.map(([op, text]) => [op, aliases.hide(text)]) };
}

/** Patches from `a` to `b`, each in the GNU-diff-like text form of diff-match-patch. */
export function makePatches(a: Uint8Array, b: Uint8Array, options: DiffOptions): string[] {
  const coding = new TextCoding([a, b]);
  const [textA, textB] = [coding.text(a), coding.text(b)];
  const aliases = new AstralAliases([textA, textB]);
  return patchMake(aliases.hide(textA), aliases.hide(textB), undefined, options).map((patch) =>
    patchToText([revealPatch(patch, aliases)]),
  );
}

/** What applying patches gave. */
export type PatchOutcome =
  | { readonly ok: true; readonly text: Uint8Array; readonly allApplied: boolean }
  | { readonly ok: false; readonly message: string };

/**
 * `target` with the patches (texts from `makePatches`) applied where they still fit; a patch
 * text that cannot be read is an error naming its position in the list.
 */
export function applyPatches(
  patchTexts: readonly string[],
  target: Uint8Array,
  options: DiffOptions,
): PatchOutcome {
  const parsed: Patch[] = [];
  for (const [i, text] of patchTexts.entries()) {
    try {
      parsed.push(...patchFromText(text));
    } catch (error) {
      return { ok: false, message: `patch ${i + 1}: ${(error as Error).message}` };
    }
  }
  const coding = new TextCoding([target]);
  const text = coding.text(target);
  const pieces = parsed.flatMap((patch) => patch.diffs.map(([, piece]) => piece));
  const aliases = new AstralAliases([text, ...pieces]);
  const [result, applied] = patchApply(
    parsed.map((patch) => hidePatch(patch, aliases)),
    aliases.hide(text),
    options,
  ) as [string, boolean[]];
  return {
    ok: true,
    text: coding.bytes(aliases.reveal(result)),
    allApplied: applied.every(Boolean),
  };
}
