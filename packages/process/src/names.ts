import { LuactError } from '@luact/core';
import type { Pid } from './pid.js';
import { checkName } from './value-limits.js';

/** Registered process names of a node: one owner per name, released when the owner ends. */
export class NameRegistry {
  private readonly owners = new Map<string, Pid>();

  /** Gives `name` to `pid`; INVALID for a name outside VALUE_LIMITS' rule, ALREADY_EXISTS if taken. */
  register(name: string, pid: Pid): LuactError | undefined {
    const invalid = checkName(name);
    if (invalid) return invalid;
    const owner = this.owners.get(name);
    if (owner === pid) return undefined;
    if (owner !== undefined) {
      return new LuactError('ALREADY_EXISTS', `name "${name}" is already registered by ${owner}`);
    }
    this.owners.set(name, pid);
    return undefined;
  }

  lookup(name: string): Pid | undefined {
    return this.owners.get(name);
  }

  /** Removes `name` if `pid` owns it (or unconditionally without `pid`). */
  unregister(name: string, pid?: Pid): boolean {
    const owner = this.owners.get(name);
    if (owner === undefined || (pid !== undefined && owner !== pid)) return false;
    this.owners.delete(name);
    return true;
  }
}
