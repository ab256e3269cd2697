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
    if (owner !== undefined) return nameTaken(name, owner);
    this.owners.set(name, pid);
    return undefined;
  }

  lookup(name: string): Pid | undefined {
    return this.owners.get(name);
  }

  /** Every name and its holder. */
  entries(): IterableIterator<[string, Pid]> {
    return this.owners.entries();
  }

  /** Removes `name` if `pid` owns it (or unconditionally without `pid`). */
  unregister(name: string, pid?: Pid): boolean {
    const owner = this.owners.get(name);
    if (owner === undefined || (pid !== undefined && owner !== pid)) return false;
    this.owners.delete(name);
    return true;
  }
}

/** A name another process holds. */
export function nameTaken(name: string, holder: Pid): LuactError {
  return new LuactError('ALREADY_EXISTS', `name "${name}" is already registered by ${holder}`);
}

/**
 * Where a name is registered: `local` names live in this node's `NameRegistry`; `cluster`
 * names are known to every node of the cluster (on a standalone node they are local names).
 */
export type NameScope = 'local' | 'cluster';

export const NAME_SCOPES: readonly NameScope[] = ['local', 'cluster'];

/** The scope a caller wrote, or INVALID naming what it got. */
export function parseNameScope(text: string | undefined): NameScope | LuactError {
  if (text === undefined) return 'local';
  if ((NAME_SCOPES as readonly string[]).includes(text)) return text as NameScope;
  return new LuactError(
    'INVALID',
    `unknown name scope "${text.length > 64 ? `${text.slice(0, 64)}…` : text}" (the scopes are "local" and "cluster")`,
    { retryable: false },
  );
}

/**
 * Names shared by the nodes of a cluster: one holder per name in the whole cluster. The
 * process system asks it for `cluster` names; the cluster layer implements it (over NATS in
 * `@luact/nats`) and releases the names of nodes declared down by itself.
 */
export interface ClusterNames {
  /**
   * Gives `name` to `pid`, a live process of this node. Resolves once this node holds it
   * (at once when `pid` already does); rejects with ALREADY_EXISTS naming the holder, or
   * UNAVAILABLE when the cluster could not decide in time.
   */
  register(name: string, pid: Pid): Promise<void>;
  /** The holder as this node last heard it, without asking anyone (no I/O). */
  lookup(name: string): Pid | undefined;
  /** How many cluster names `pid` (a process of this node) holds. */
  heldBy(pid: Pid): number;
  /** Releases `name`, whoever holds it; resolves once released (at once if it was not held). */
  unregister(name: string): Promise<void>;
  /** `pid`, a process of this node, ended: its names are released (in the background). */
  ownerExited(pid: Pid): void;
  /** Called once by the process system with what to tell its processes. */
  attach(events: ClusterNameEvents): void;
}

export interface ClusterNameEvents {
  /**
   * `pid` (a process of this node) was told it holds `name`, and the cluster has since
   * decided otherwise: the process is told with a CANCEL.
   */
  revoked(name: string, pid: Pid): void;
}
