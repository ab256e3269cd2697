import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LuactError } from '@luact/core';
import { readDotenv, writeDotenv } from './dotenv.js';

/**
 * Where the values of env.variable entries live. `get` answers undefined for a key the
 * storage does not have; failures (a read-only storage, an unreadable file) throw LuactErrors.
 */
export interface EnvStorage {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** What a storage's errors call it: its entry ID and kind. */
export interface StorageName {
  readonly id: string;
  readonly kind: string;
}

function readOnly(name: StorageName): LuactError {
  return new LuactError('PERMISSION_DENIED', `env storage ${name.id} (${name.kind}) is read-only`, {
    retryable: false,
  });
}

/** Values kept while the node runs. */
export class MemoryStorage implements EnvStorage {
  private readonly values = new Map<string, string>();
  get(key: string): string | undefined {
    return this.values.get(key);
  }
  set(key: string, value: string): void {
    this.values.set(key, value);
  }
}

/** Fixed values: the node's environment (env.storage.os) or an entry's `values`. */
export class FixedStorage implements EnvStorage {
  constructor(
    private readonly name: StorageName,
    private readonly values: Readonly<Record<string, string | undefined>>,
  ) {}
  get(key: string): string | undefined {
    return Object.hasOwn(this.values, key) ? this.values[key] : undefined;
  }
  set(): void {
    throw readOnly(this.name);
  }
}

export interface FileStorageOptions {
  /** Absolute path of the .env file. */
  readonly file: string;
  readonly autoCreate: boolean;
  readonly fileMode: number;
  readonly dirMode: number;
}

/**
 * A `.env` file, read on every get (so edits made while the node runs are seen) and rewritten
 * whole on a set, through a temporary file renamed over it.
 */
export class FileStorage implements EnvStorage {
  constructor(
    private readonly name: StorageName,
    private readonly options: FileStorageOptions,
  ) {}

  get(key: string): string | undefined {
    const text = this.read();
    return text === undefined ? undefined : readDotenv(text, key);
  }

  set(key: string, value: string): void {
    if (/[\r\n]/.test(value)) {
      // Quoted, it would be readable; refused so a file edited by hand keeps one line per key.
      throw new LuactError(
        'INVALID',
        `a value for ${key} in env file ${this.options.file} (${this.name.id}) must be one line`,
        { retryable: false },
      );
    }
    const { file, autoCreate, fileMode, dirMode } = this.options;
    const text = this.read();
    if (text === undefined && !autoCreate) {
      throw new LuactError(
        'NOT_FOUND',
        `env file ${file} of ${this.name.id} does not exist (auto_create: true creates it on the first write)`,
        { retryable: false },
      );
    }
    try {
      if (text === undefined) mkdirSync(path.dirname(file), { recursive: true, mode: dirMode });
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, writeDotenv(text ?? '', key, value), { mode: fileMode });
      chmodSync(temporary, fileMode);
      renameSync(temporary, file);
    } catch (error) {
      throw this.failure('write', error);
    }
  }

  private read(): string | undefined {
    try {
      return readFileSync(this.options.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw this.failure('read', error);
    }
  }

  private failure(verb: string, error: unknown): LuactError {
    return new LuactError(
      'UNAVAILABLE',
      `cannot ${verb} env file ${this.options.file} of ${this.name.id}: ${(error as Error).message}`,
      { retryable: false },
    );
  }
}

/** Reads from each storage in turn (the first that has the key answers); writes to the first. */
export class RouterStorage implements EnvStorage {
  constructor(private readonly storages: () => readonly EnvStorage[]) {}
  get(key: string): string | undefined {
    for (const storage of this.storages()) {
      const value = storage.get(key);
      if (value !== undefined) return value;
    }
    return undefined;
  }
  set(key: string, value: string): void {
    (this.storages()[0] as EnvStorage).set(key, value);
  }
}
