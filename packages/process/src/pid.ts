/**
 * A process identifier: `{host|id}` on a single node, `{node@host|id}` in a cluster. A process
 * host numbers its processes; a workflow host names its workflows (the workflow ID), so `id`
 * is any text without `{`, `}` or `|`.
 */
export type Pid = string & { readonly __brand: 'Pid' };

export interface PidParts {
  readonly node: string | undefined;
  readonly host: string;
  readonly id: number | string;
}

export function formatPid({ node, host, id }: PidParts): Pid {
  return `{${node === undefined ? '' : `${node}@`}${host}|${id}}` as Pid;
}

const PID = /^\{(?:([^@{}|]+)@)?([^@{}|]+)\|([^{}|]+)\}$/;

export function parsePid(text: string): PidParts | undefined {
  const match = PID.exec(text);
  if (!match) return undefined;
  const id = match[3] as string;
  return { node: match[1], host: match[2] as string, id: /^\d+$/.test(id) ? Number(id) : id };
}

export function isPid(text: string): text is Pid {
  return PID.test(text);
}

/** Cheap checks for the hot path: a PID starts with "{", and a remote one names its node. */
export function looksLikePid(text: string): boolean {
  return text.charCodeAt(0) === 123 && text.charCodeAt(text.length - 1) === 125;
}

/** The node named in a PID, or undefined for a PID of the local, unnamed node. */
export function nodeOf(pid: string): string | undefined {
  const at = pid.indexOf('@');
  // An "@" after the "|" belongs to a workflow ID, not to a node name.
  return at < 0 || at > pid.indexOf('|') ? undefined : pid.slice(1, at);
}
