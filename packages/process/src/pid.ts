/** A process identifier: `{host|id}` on a single node, `{node@host|id}` in a cluster. */
export type Pid = string & { readonly __brand: 'Pid' };

export interface PidParts {
  readonly node: string | undefined;
  readonly host: string;
  readonly id: number;
}

export function formatPid({ node, host, id }: PidParts): Pid {
  return `{${node === undefined ? '' : `${node}@`}${host}|${id}}` as Pid;
}

const PID = /^\{(?:([^@{}|]+)@)?([^@{}|]+)\|(\d+)\}$/;

export function parsePid(text: string): PidParts | undefined {
  const match = PID.exec(text);
  if (!match) return undefined;
  return { node: match[1], host: match[2] as string, id: Number(match[3]) };
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
  return at < 0 ? undefined : pid.slice(1, at);
}
