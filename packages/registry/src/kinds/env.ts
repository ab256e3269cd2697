import { invalidValue } from '../schema/decoder.js';
import {
  boolean,
  type Decoder,
  type Infer,
  list,
  object,
  optional,
  record,
  reference,
  required,
  string,
  withDefault,
} from '../schema/index.js';

/** The kinds of env storage entries: where `env.variable` values are kept. */
export const ENV_STORAGE_KINDS = [
  'env.storage.memory',
  'env.storage.os',
  'env.storage.file',
  'env.storage.static',
  'env.storage.router',
] as const;

export type EnvStorageKind = (typeof ENV_STORAGE_KINDS)[number];

const VARIABLE_NAME = /^[A-Za-z0-9_]+$/;
const variableName = (what: string) =>
  string({ pattern: VARIABLE_NAME, hint: `${what} (letters, digits and _)` });

/** `env.storage.memory`: values kept by the node while it runs, lost when it stops. */
export const envStorageMemory = object({});

/** `env.storage.os`: the node's environment variables, read-only. */
export const envStorageOs = object({});

/** `env.storage.static`: values written in the entry, read-only. */
export const envStorageStatic = object({
  values: withDefault(
    record(string(), { pattern: VARIABLE_NAME, hint: 'a variable name (letters, digits and _)' }),
    {} as Record<string, string>,
  ),
});

/** `env.storage.file`: a `.env` file of `KEY=VALUE` lines, read and written in place. */
export const envStorageFile = object({
  /** Relative to the directory luact was started in, as in Wippy. */
  file_path: required(string({ hint: 'a file path' })),
  /** Create the file (and its directory) on the first write when it does not exist. */
  auto_create: withDefault(boolean(), false),
  file_mode: withDefault(fileMode(), 0o644),
  dir_mode: withDefault(fileMode(), 0o755),
});

/** `env.storage.router`: reads try each storage in turn; writes go to the first. */
export const envStorageRouter = object({
  storages: required(nonEmpty(list(reference(ENV_STORAGE_KINDS)))),
});

/**
 * `env.variable`: a named view of one value in a storage. `variable` is its public name
 * (`env.get("PORT")`) and its key in the storage; without it the variable is private, reached
 * by entry ID only, and keyed by that ID. Without `storage` it reads the node's environment.
 */
export const envVariable = object(
  {
    variable: optional(variableName('an environment variable name')),
    storage: optional(reference(ENV_STORAGE_KINDS)),
    default: optional(string()),
    readonly: withDefault(boolean(), false, { alias: 'read_only' }),
  },
  {
    check(variable, issue) {
      if (variable.variable === undefined && variable.storage === undefined) {
        issue(
          [],
          'an env.variable needs "variable" (a name in the environment), "storage", or both',
        );
      }
    },
  },
);

export type EnvVariableConfig = Infer<typeof envVariable>;
export type EnvStorageFileConfig = Infer<typeof envStorageFile>;
export type EnvStorageStaticConfig = Infer<typeof envStorageStatic>;
export type EnvStorageRouterConfig = Infer<typeof envStorageRouter>;

/**
 * Permission bits written as octal digits, as in Wippy's YAML (`0600`, `"0644"`): luact's
 * YAML reads `0600` as the number 600, so a number's decimal digits are taken as octal ones.
 */
function fileMode(): Decoder<number> {
  const expected = 'permission bits as octal digits, such as 0644 or "0600"';
  return {
    expected,
    decode(value, path, cx) {
      const digits =
        typeof value === 'number'
          ? String(value)
          : typeof value === 'string'
            ? value.replace(/^0o/, '')
            : undefined;
      if (digits === undefined || !/^[0-7]{1,4}$/.test(digits)) {
        return invalidValue(cx, path, `${JSON.stringify(value)} is not ${expected}`);
      }
      return Number.parseInt(digits, 8);
    },
  };
}

function nonEmpty<T>(decoder: Decoder<T[]>): Decoder<T[]> {
  return {
    expected: `${decoder.expected} (at least one)`,
    decode(value, path, cx) {
      if (Array.isArray(value) && value.length === 0) {
        return invalidValue(cx, path, `needs at least one storage`);
      }
      return decoder.decode(value, path, cx);
    },
  };
}
