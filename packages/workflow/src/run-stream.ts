import { idProblem, WORKFLOW_ID_RULE } from '@luact/core';

/** The journal stream of run `run` of `workflow`: `<workflow id>~<run>`. */
export function streamOf(workflow: string, run: number): string {
  return `${workflow}~${run}`;
}

export function parseStream(stream: string): { workflow: string; run: number } {
  const at = stream.lastIndexOf('~');
  return { workflow: stream.slice(0, at), run: Number(stream.slice(at + 1)) };
}

/**
 * The workflow and run a stream found in the journal names, or undefined when it names none
 * this version wrote: no run number after a `~`, or a workflow ID that breaks the ID rule
 * (such a stream is listed and swept by nobody).
 */
export function runOfStream(stream: string): { workflow: string; run: number } | undefined {
  const at = stream.lastIndexOf('~');
  if (at < 1) return undefined;
  const { workflow, run } = parseStream(stream);
  if (!Number.isSafeInteger(run) || run < 1 || idProblem(workflow, WORKFLOW_ID_RULE))
    return undefined;
  return { workflow, run };
}
