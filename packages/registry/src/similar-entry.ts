import type { Kind } from './kinds/catalog.js';
import type { RegistrySnapshot } from './snapshot.js';
import { closestMatch } from './suggest.js';

/**
 * The entry someone likely meant by `id`, which names none: an ID close to it among entries of
 * `kinds` (those the caller could use), else one of those kinds with the same name in another
 * namespace, else any entry with an ID close to it.
 */
function similarEntry(
  snapshot: RegistrySnapshot,
  id: string,
  kinds: readonly Kind[],
): string | undefined {
  const fitting = kinds.flatMap((kind) => snapshot.ofKind(kind));
  const name = id.slice(id.indexOf(':') + 1);
  return (
    closestMatch(
      id,
      fitting.map((entry) => entry.id),
    ) ??
    fitting.find((entry) => entry.name === name)?.id ??
    closestMatch(id, snapshot.ids())
  );
}

/** ` (did you mean ID?)` for similarEntry's answer, or '' when there is none. */
export function didYouMeanEntry(
  snapshot: RegistrySnapshot,
  id: string,
  kinds: readonly Kind[],
): string {
  const match = similarEntry(snapshot, id, kinds);
  return match === undefined ? '' : ` (did you mean ${match}?)`;
}
