import { createHash } from 'node:crypto';

/**
 * Stream IDs as file names. Every UTF-8 byte outside `[A-Za-z0-9_-]` is percent-encoded
 * (`orders/42` → `orders%2F42.jnl`), so a name is safe on any file system and never holds a
 * dot of its own. An encoding longer than a file name may be is cut and completed with a hash
 * of the whole ID (`<prefix>.<hash>.jnl`); such a name cannot be decoded, and the ID is read
 * from the file's header instead.
 */

export const JOURNAL_SUFFIX = '.jnl';

/** Longest encoding kept whole: well under the usual 255-byte limit, leaving room for suffixes. */
const MAX_ENCODED = 200;
/** What a long encoding is cut to before the hash is added. */
const PREFIX_LENGTH = 150;

const SAFE_BYTE = /^[A-Za-z0-9_-]$/;

export function fileNameOf(id: string): string {
  const encoded = encode(id);
  if (encoded.length <= MAX_ENCODED) return `${encoded}${JOURNAL_SUFFIX}`;
  const hash = createHash('sha256').update(id).digest('hex').slice(0, 32);
  return `${cutAtEscape(encoded, PREFIX_LENGTH)}.${hash}${JOURNAL_SUFFIX}`;
}

/**
 * The stream ID a journal file name stands for, when the name holds it: `undefined` for a
 * hashed name (read the header) and for names this encoding never produces.
 */
export function idOfFileName(name: string): string | undefined {
  if (!name.endsWith(JOURNAL_SUFFIX)) return undefined;
  const stem = name.slice(0, -JOURNAL_SUFFIX.length);
  if (stem.includes('.')) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(stem);
  } catch {
    return undefined;
  }
  // Only the canonical spelling counts: `%2f.jnl` is somebody else's file.
  return fileNameOf(id) === name ? id : undefined;
}

export function isJournalFileName(name: string): boolean {
  return name.endsWith(JOURNAL_SUFFIX);
}

function encode(id: string): string {
  let encoded = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += SAFE_BYTE.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** `encoded` cut to at most `length` characters without splitting a `%XX` escape. */
function cutAtEscape(encoded: string, length: number): string {
  const escapeStart = encoded.lastIndexOf('%', length - 1);
  return escapeStart > length - 3 ? encoded.slice(0, escapeStart) : encoded.slice(0, length);
}
