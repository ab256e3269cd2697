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
