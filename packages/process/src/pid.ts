/**
 * A process identifier: `{host|id}` on a standalone node, `{node~incarnation@host|id}` on a
 * cluster node. The incarnation changes each time the node starts, so a PID of a process that
 * ran before a restart never reaches a process of the new run. A process host numbers its
 * processes; a workflow host names its workflows (the workflow ID, no node: workflows move
 * between nodes), so `id` is any text without `{`, `}` or `|`.
 */
export type Pid = string & { readonly __brand: 'Pid' };

export interface PidParts {
  /** The node's name and its incarnation; undefined on a standalone node and for workflows. */
  readonly node: string | undefined;
  readonly incarnation?: number | undefined;
  readonly host: string;
  readonly id: number | string;
}

/** A cluster node as PIDs name it: its name, and which start of it. */
export interface NodeIdentity {
  readonly node: string;
  readonly incarnation: number;
}

export function formatPid({ node, incarnation, host, id }: PidParts): Pid {
  if (node === undefined) return `{${host}|${id}}` as Pid;
  return `{${node}${incarnation === undefined ? '' : `~${incarnation}`}@${host}|${id}}` as Pid;
}

const PID = /^\{(?:([^@{}|~]+)(?:~(\d+))?@)?([^@{}|]+)\|([^{}|]+)\}$/;

export function parsePid(text: string): PidParts | undefined {
  const match = PID.exec(text);
  if (!match) return undefined;
  const id = match[4] as string;
  return {
    node: match[1],
    incarnation: match[2] === undefined ? undefined : Number(match[2]),
    host: match[3] as string,
    id: /^\d+$/.test(id) ? Number(id) : id,
  };
}

export function isPid(text: string): text is Pid {
  return PID.test(text);
}

/** Cheap checks for the hot path: a PID starts with "{", and a remote one names its node. */
export function looksLikePid(text: string): boolean {
  return text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125;
}

/**
 * The number a process host gave the PID's process (`{…|42}` → 42), read without allocating;
 * -1 when the text does not end in `|digits}` (a workflow's PID, a name, anything else).
 */
export function localNumber(pid: string): number {
  const end = pid.length - 1;
  if (end < 2 || pid.charCodeAt(end) !== 125 /* } */) return -1;
  let value = 0;
  let scale = 1;
  for (let i = end - 1; i > 0; i--) {
    const code = pid.charCodeAt(i);
    if (code === 124 /* | */) return i === end - 1 ? -1 : value;
    if (code < 48 || code > 57 || scale > 1e15) return -1;
    value += (code - 48) * scale;
    scale *= 10;
  }
  return -1;
}

/** The node named in a PID (without its incarnation), or undefined when it names none. */
export function nodeOf(pid: string): string | undefined {
  const at = pid.indexOf('@');
  // An "@" after the "|" belongs to a workflow ID, not to a node name.
  if (at < 0 || at > pid.indexOf('|')) return undefined;
  const tilde = pid.indexOf('~');
  return pid.slice(1, tilde > 0 && tilde < at ? tilde : at);
}

/**
 * The address of "the process holding local name `name` on node `node`" (Erlang's
 * `{Name, Node}`), written `{node@|name}`. It has a PID's braces, so it is never a name (a name
 * may not be shaped like a PID), and a PID never has "@|" (its host is never empty), so it is
 * never a PID. Mail to it goes to the node and is resolved by whichever incarnation takes it.
 */
export type NameOnNode = string & { readonly __brand: 'NameOnNode' };

const NAME_ON_NODE = /^\{([A-Za-z0-9_-]+)@\|(.+)\}$/s;

export function formatNameOnNode(name: string, node: string): NameOnNode {
  return `{${node}@|${name}}` as NameOnNode;
}

/** The node and name of a `{node@|name}` address, or undefined for any other text. */
export function parseNameOnNode(
  text: string,
): { readonly node: string; readonly name: string } | undefined {
  const match = NAME_ON_NODE.exec(text);
  return match ? { node: match[1] as string, name: match[2] as string } : undefined;
}

/** Cheap check for the mail path: whether `text` may be a `{node@|name}` address. */
export function mayBeNameOnNode(text: string): boolean {
  return text.includes('@|');
}
