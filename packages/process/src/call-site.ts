import { LuactError } from '@luact/core';

/** A place in a Lua source: the file its chunk was loaded from and a line in it. */
export interface LuaPlace {
  readonly file: string;
  readonly line: number;
}

/**
 * A NOT_FOUND error (an entry or host a call names does not exist), told with the place of the
 * Lua call that named it: `entry app:x not found at /app/caller.lua:12`. A literal ID is
 * usually a typo, and the place is where to fix it. `site` is only asked for then (a walk of
 * the Lua stack); other errors and a place that cannot be known (a tail call) are left as is.
 */
export function withCallSite(error: unknown, site: () => LuaPlace | undefined): LuactError {
  const failure = LuactError.from(error);
  if (failure.kind !== 'NOT_FOUND') return failure;
  const place = site();
  if (place === undefined) return failure;
  return new LuactError(failure.kind, `${failure.message} at ${place.file}:${place.line}`, {
    retryable: failure.retryable,
    details: { ...failure.details, file: place.file, line: place.line },
  });
}
