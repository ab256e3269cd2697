/**
 * The error kinds of the Lua API (`errors.NOT_FOUND`, …). One error class carries them through
 * TypeScript, Lua, the wire and the journals, so a kind chosen in one place is seen everywhere.
 */
export const ERROR_KINDS = [
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID',
  'PERMISSION_DENIED',
  'UNAVAILABLE',
  'INTERNAL',
  'CANCELED',
  'CONFLICT',
  'TIMEOUT',
  'RATE_LIMITED',
  'UNKNOWN',
] as const;

export type ErrorKind = (typeof ERROR_KINDS)[number];

export type ErrorDetails = Readonly<Record<string, unknown>>;

/** The plain-data form of an error: what crosses processes, nodes and journals. */
export interface ErrorData {
  readonly kind: ErrorKind;
  readonly message: string;
  readonly retryable: boolean;
  readonly details?: ErrorDetails;
}

/**
 * Whether an error of this kind is worth retrying when its creator did not say. Failures of the
 * environment (unavailable, timeout, rate limits, internal faults, unknown) are; errors about the
 * request itself (invalid, missing, conflicting, forbidden, canceled) are not.
 */
const RETRYABLE_BY_DEFAULT: Readonly<Record<ErrorKind, boolean>> = {
  NOT_FOUND: false,
  ALREADY_EXISTS: false,
  INVALID: false,
  PERMISSION_DENIED: false,
  UNAVAILABLE: true,
  INTERNAL: true,
  CANCELED: false,
  CONFLICT: false,
  TIMEOUT: true,
  RATE_LIMITED: true,
  UNKNOWN: true,
};

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && (ERROR_KINDS as readonly string[]).includes(value);
}

export function retryableByDefault(kind: ErrorKind): boolean {
  return RETRYABLE_BY_DEFAULT[kind];
}

/**
 * How Lua code spells each kind (`errors.NOT_FOUND == "NotFound"`, `err:kind()`): Wippy's names,
 * so Wippy's Lua runs unchanged. TypeScript, the wire, the journals and JSON output keep
 * ErrorKind; the Lua kernel maps at its boundary, from this table only.
 */
export const LUA_KIND_NAMES: Readonly<Record<ErrorKind, string>> = {
  NOT_FOUND: 'NotFound',
  ALREADY_EXISTS: 'AlreadyExists',
  INVALID: 'Invalid',
  PERMISSION_DENIED: 'PermissionDenied',
  UNAVAILABLE: 'Unavailable',
  INTERNAL: 'Internal',
  CANCELED: 'Canceled',
  CONFLICT: 'Conflict',
  TIMEOUT: 'Timeout',
  RATE_LIMITED: 'RateLimited',
  UNKNOWN: '',
};

const KIND_BY_LUA_NAME: ReadonlyMap<string, ErrorKind> = new Map(
  ERROR_KINDS.map((kind) => [LUA_KIND_NAMES[kind], kind]),
);

/** A kind written by a user either way ("NOT_FOUND" or Lua's "NotFound"), or undefined. */
export function errorKindFromName(name: unknown): ErrorKind | undefined {
  if (typeof name !== 'string') return undefined;
  return isErrorKind(name) ? name : KIND_BY_LUA_NAME.get(name);
}

export interface LuactErrorOptions {
  readonly retryable?: boolean;
  readonly details?: ErrorDetails;
  readonly cause?: unknown;
}

export class LuactError extends Error {
  override readonly name = 'LuactError';
  readonly kind: ErrorKind;
  readonly retryable: boolean;
  readonly details: ErrorDetails | undefined;

  constructor(kind: ErrorKind, message: string, options: LuactErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT[kind];
    this.details = options.details;
  }

  toData(): ErrorData {
    const { kind, message, retryable, details } = this;
    return details === undefined
      ? { kind, message, retryable }
      : { kind, message, retryable, details };
  }

  static fromData(data: ErrorData): LuactError {
    return new LuactError(data.kind, data.message, {
      retryable: data.retryable,
      ...(data.details === undefined ? {} : { details: data.details }),
    });
  }

  /** Any thrown value as a LuactError; foreign errors become INTERNAL and keep their message. */
  static from(thrown: unknown): LuactError {
    if (thrown instanceof LuactError) return thrown;
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    return new LuactError('INTERNAL', message, { cause: thrown });
  }
}
