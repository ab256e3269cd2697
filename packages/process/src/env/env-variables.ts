import path from 'node:path';
import { type EntryId, LuactError, resolveReference } from '@luact/core';
import {
  activateEntry,
  ENV_STORAGE_KINDS,
  type Entry,
  type EntryOf,
  type Environment,
  type EnvStorageKind,
  type EnvVariableConfig,
  type RegistrySnapshot,
} from '@luact/registry';
import {
  type EnvStorage,
  FileStorage,
  FixedStorage,
  MemoryStorage,
  RouterStorage,
  type StorageName,
} from './storages.js';

/** The longest value `env.set` stores, in bytes. */
export const MAX_ENV_VALUE_BYTES = 65_536;

interface Variable {
  readonly entry: EntryOf<'env.variable'>;
  readonly config: EnvVariableConfig;
  /** Its key in its storage: the public name, or the entry ID of a private variable. */
  readonly key: string;
}

export interface EnvVariablesOptions {
  /** The registry as it is now. */
  readonly snapshot: () => RegistrySnapshot;
  /** The node's environment: env.storage.os and variables without a storage read it. */
  readonly env: Environment;
  /** Where relative `file_path`s of env.storage.file start (Wippy: the working directory). */
  readonly cwd: string;
}

/**
 * The env.variable entries of a node and the storages behind them: what `env.get`, `env.set`
 * and `env.get_all` act on. A name is found as Wippy finds it: first as a public name (the
 * `variable` field), then as an entry ID in the caller's namespace, then as a full entry ID.
 * Storages are made on first use and kept while their entry is unchanged (a memory storage
 * keeps its values across registry changes that leave its entry alone).
 */
export class EnvVariables {
  private readonly storages = new Map<EntryId, { fingerprint: string; storage: EnvStorage }>();
  private names:
    | { snapshot: RegistrySnapshot; byName: Map<string, EntryOf<'env.variable'>> }
    | undefined;
  private readonly environment: EnvStorage;

  constructor(private readonly options: EnvVariablesOptions) {
    this.environment = new FixedStorage(
      { id: 'the node environment', kind: 'env.storage.os' },
      options.env,
    );
  }

  /** The value of variable `name`, or its default; NOT_FOUND when it has neither. */
  get(name: string, namespace: string): string | LuactError {
    const variable = this.find(name, namespace);
    return variable instanceof LuactError ? variable : this.valueOf(variable);
  }

  private valueOf(variable: Variable): string | LuactError {
    const value = this.storageOf(variable).get(variable.key);
    // As in Wippy, an empty value is no value.
    if (value !== undefined && value !== '') return value;
    if (variable.config.default !== undefined) return variable.config.default;
    return new LuactError(
      'NOT_FOUND',
      `env variable ${describe(variable)} has no value and no default`,
      { retryable: false, details: { variable: variable.config.variable ?? variable.entry.id } },
    );
  }

  set(name: string, value: string, namespace: string): true | LuactError {
    const variable = this.find(name, namespace);
    if (variable instanceof LuactError) return variable;
    if (variable.config.readonly) {
      return new LuactError(
        'PERMISSION_DENIED',
        `env variable ${describe(variable)} is read-only`,
        {
          retryable: false,
          details: { variable: name },
        },
      );
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_ENV_VALUE_BYTES) {
      return new LuactError(
        'INVALID',
        `a value of ${bytes} bytes for env variable ${describe(variable)} exceeds the limit of ${MAX_ENV_VALUE_BYTES} bytes`,
        { retryable: false },
      );
    }
    this.storageOf(variable).set(variable.key, value);
    return true;
  }

  /**
   * Every public variable that has a value (or a default), by public name. Private variables
   * and whatever else a storage holds are left out, so the node's whole environment never is
   * handed to Lua.
   */
  all(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, entry] of this.publicNames()) {
      try {
        const value = this.valueOf(this.variable(entry));
        if (typeof value === 'string') out[name] = value;
      } catch {
        // A storage that cannot be read now (an unreadable file) leaves its variables out.
      }
    }
    return out;
  }

  private find(name: string, namespace: string): Variable | LuactError {
    const snapshot = this.options.snapshot();
    let entry: Entry | undefined = this.publicNames().get(name);
    if (!entry) {
      // Without a namespace, resolveReference reads the name in the caller's.
      const id = resolveReference(name, namespace);
      if (id.ok) entry = snapshot.get(id.value);
    }
    if (entry?.kind !== 'env.variable') {
      return new LuactError(
        'NOT_FOUND',
        `no env variable "${name}": no env.variable entry has that name or ID`,
        { retryable: false, details: { variable: name } },
      );
    }
    return this.variable(entry);
  }

  private variable(entry: EntryOf<'env.variable'>): Variable {
    const activated = activateEntry(entry, this.options.env);
    if (!activated.ok) throw invalidEntry(entry, activated.error);
    const config = activated.value;
    return { entry, config, key: config.variable ?? entry.id };
  }

  private publicNames(): Map<string, EntryOf<'env.variable'>> {
    const snapshot = this.options.snapshot();
    if (this.names?.snapshot !== snapshot) {
      const byName = new Map<string, EntryOf<'env.variable'>>();
      for (const entry of snapshot.ofKind('env.variable')) {
        const name = entry.fields.variable;
        if (typeof name === 'string' && !byName.has(name)) byName.set(name, entry);
      }
      this.names = { snapshot, byName };
    }
    return this.names.byName;
  }

  private storageOf(variable: Variable): EnvStorage {
    const id = variable.config.storage;
    return id === undefined ? this.environment : this.storage(id);
  }

  /** The storage of entry `id`, made on first use and again when its entry changed. */
  private storage(id: EntryId): EnvStorage {
    const entry = this.options.snapshot().get(id);
    if (!entry || !(ENV_STORAGE_KINDS as readonly string[]).includes(entry.kind)) {
      throw new LuactError('NOT_FOUND', `env storage ${id} does not exist`, { retryable: false });
    }
    const cached = this.storages.get(id);
    if (cached?.fingerprint === entry.fingerprint) return cached.storage;
    const storage = this.makeStorage(entry);
    this.storages.set(id, { fingerprint: entry.fingerprint, storage });
    return storage;
  }

  private makeStorage(entry: Entry): EnvStorage {
    const name: StorageName = { id: entry.id, kind: entry.kind };
    const configOf = <K extends EnvStorageKind>(storage: EntryOf<K>) => {
      const activated = activateEntry(storage, this.options.env);
      if (!activated.ok) throw invalidEntry(storage, activated.error);
      return activated.value;
    };
    switch (entry.kind) {
      case 'env.storage.memory':
        return new MemoryStorage();
      case 'env.storage.os':
        return new FixedStorage(name, this.options.env);
      case 'env.storage.static':
        return new FixedStorage(name, configOf(entry).values);
      case 'env.storage.file': {
        const config = configOf(entry);
        return new FileStorage(name, {
          file: path.resolve(this.options.cwd, config.file_path),
          autoCreate: config.auto_create,
          fileMode: config.file_mode,
          dirMode: config.dir_mode,
        });
      }
      case 'env.storage.router': {
        const ids = configOf(entry).storages;
        return new RouterStorage(() => ids.map((child) => this.storage(child)));
      }
      default:
        throw new LuactError('NOT_FOUND', `${entry.id} is a ${entry.kind}, not an env storage`, {
          retryable: false,
        });
    }
  }
}

function describe(variable: Variable): string {
  const { config, entry } = variable;
  return config.variable === undefined ? entry.id : `${config.variable} (${entry.id})`;
}

function invalidEntry(
  entry: { readonly id: string },
  problems: readonly { message: string }[],
): LuactError {
  return new LuactError('INVALID', `${entry.id}: ${problems.map((p) => p.message).join('; ')}`, {
    retryable: false,
  });
}
