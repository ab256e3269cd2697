import { err, ok, type Result } from './result.js';

/** A registry entry's identity, `namespace:name`. Only built by the functions below. */
export type EntryId = string & { readonly __brand: 'EntryId' };

/** Namespaces and names: letters, digits, `_`, `-` and `.`, starting with a letter, digit or `_`. */
export const NAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function isValidName(text: string): boolean {
  return NAME_PATTERN.test(text);
}

export function entryId(namespace: string, name: string): EntryId {
  if (!isValidName(namespace)) throw new TypeError(`invalid namespace "${namespace}"`);
  if (!isValidName(name)) throw new TypeError(`invalid entry name "${name}"`);
  return `${namespace}:${name}` as EntryId;
}

export interface EntryIdParts {
  readonly namespace: string;
  readonly name: string;
}

export function splitEntryId(id: EntryId): EntryIdParts {
  const colon = id.indexOf(':');
  return { namespace: id.slice(0, colon), name: id.slice(colon + 1) };
}

/** Parses `namespace:name`; the message of the error says what is wrong with the text. */
export function parseEntryId(text: string): Result<EntryId, string> {
  const colon = text.indexOf(':');
  if (colon < 0) return err(`"${text}" is not an entry ID (expected namespace:name)`);
  return checkParts(text.slice(0, colon), text.slice(colon + 1), text);
}

/**
 * Resolves a reference written in an entry of `namespace`: `name` means `namespace:name`,
 * `other:name` stays as written.
 */
export function resolveReference(reference: string, namespace: string): Result<EntryId, string> {
  const colon = reference.indexOf(':');
  if (colon < 0) return checkParts(namespace, reference, reference);
  return checkParts(reference.slice(0, colon), reference.slice(colon + 1), reference);
}

function checkParts(namespace: string, name: string, text: string): Result<EntryId, string> {
  if (!isValidName(namespace)) return err(`"${text}" has an invalid namespace "${namespace}"`);
  if (!isValidName(name)) return err(`"${text}" has an invalid name "${name}"`);
  return ok(`${namespace}:${name}` as EntryId);
}
