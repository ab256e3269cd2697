import { LuactError } from '@luact/core';

/** Errors of the environment that leave the store unable to take writes for now. */
const UNAVAILABLE_CODES = new Set([
  'ENOSPC',
  'EDQUOT',
  'EMFILE',
  'ENFILE',
  'EROFS',
  'EACCES',
  'EPERM',
]);

/** A failed file operation as a LuactError naming the file; LuactErrors pass through. */
export function fileError(path: string, action: string, cause: unknown): LuactError {
  if (cause instanceof LuactError) return cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LuactError(
    code !== undefined && UNAVAILABLE_CODES.has(code) ? 'UNAVAILABLE' : 'INTERNAL',
    `${path}: could not ${action} the journal file: ${reason}`,
    { details: { file: path, ...(code === undefined ? {} : { code }) }, cause },
  );
}

export function shutDownError(dir: string): LuactError {
  return new LuactError('UNAVAILABLE', `the file journal in ${dir} is shut down`, {
    retryable: false,
    details: { dir },
  });
}
