import { createHash } from 'node:crypto';
import { WORKFLOW_ID_RULE } from '@luact/core';

/**
 * The ID of a parent's unnamed child number `seq`: `<parent>.<seq>`, or, when that would be
 * longer than a workflow ID may be, as much of the parent's ID as fits, `~`, and a hash of the
 * whole of it (children of parents with a long common prefix stay apart). The same parent and
 * number give the same ID on every replay.
 */
export function childWorkflowId(parent: string, seq: number): string {
  const plain = `${parent}.${seq}`;
  if (Buffer.byteLength(plain) <= WORKFLOW_ID_RULE.maxBytes) return plain;
  const tail = `~${createHash('sha256').update(parent).digest('hex').slice(0, 16)}.${seq}`;
  const room = WORKFLOW_ID_RULE.maxBytes - tail.length;
  let prefix = '';
  let bytes = 0;
  for (const char of parent) {
    const size = Buffer.byteLength(char);
    if (bytes + size > room) break;
    prefix += char;
    bytes += size;
  }
  return prefix + tail;
}
