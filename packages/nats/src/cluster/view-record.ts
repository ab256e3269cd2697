import { LuactError } from '@luact/core';
import type { PartitionOwner } from './placement.js';
import type { View, ViewChange, ViewMember } from './view.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A view as the JSON bytes of its record in the view stream. */
export function encodeView(view: View): Uint8Array {
  return encoder.encode(JSON.stringify(view));
}

/**
 * The view in a record of the view stream, checked field by field: a record that is not a view
 * (written by something else, or by an incompatible version) is INTERNAL, naming `where`.
 */
export function decodeView(bytes: Uint8Array, where: string): View {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (error) {
    throw bad(where, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const record = object(raw, where, 'the record');
  const version = count(record.version, where, 'version', 1);
  const partitions = count(record.partitions, where, 'partitions', 1);
  const members: Record<string, ViewMember> = {};
  for (const [node, value] of Object.entries(object(record.members, where, 'members'))) {
    const member = object(value, where, `members.${node}`);
    const liveness =
      member.liveness === undefined
        ? undefined
        : object(member.liveness, where, `members.${node}.liveness`);
    members[node] = {
      incarnation: count(member.incarnation, where, `members.${node}.incarnation`, 1),
      queues: strings(member.queues, where, `members.${node}.queues`),
      ...(liveness
        ? {
            liveness: {
              heartbeatMs: count(
                liveness.heartbeatMs,
                where,
                `members.${node}.liveness.heartbeatMs`,
                1,
              ),
              downAfterMs: count(
                liveness.downAfterMs,
                where,
                `members.${node}.liveness.downAfterMs`,
                1,
              ),
            },
          }
        : {}),
    };
  }
  const owners: Record<string, PartitionOwner[]> = {};
  for (const [queue, value] of Object.entries(object(record.owners, where, 'owners'))) {
    if (!Array.isArray(value) || value.length !== partitions) {
      throw bad(where, `owners of ${queue} is not a list of ${partitions} owners`);
    }
    owners[queue] = value.map((entry, partition) => {
      const field = `owners.${queue}[${partition}]`;
      const owner = object(entry, where, field);
      return {
        node: string(owner.node, where, `${field}.node`),
        incarnation: count(owner.incarnation, where, `${field}.incarnation`, 1),
        epoch: count(owner.epoch, where, `${field}.epoch`, 1),
      };
    });
  }
  if (!Array.isArray(record.changes)) throw bad(where, 'changes is not a list');
  const changes = record.changes.map((entry, i): ViewChange => {
    const change = object(entry, where, `changes[${i}]`);
    const kind = change.kind;
    if (kind !== 'joined' && kind !== 'left' && kind !== 'down') {
      throw bad(where, `changes[${i}].kind is ${JSON.stringify(kind)}`);
    }
    return {
      kind,
      node: string(change.node, where, `changes[${i}].node`),
      incarnation: count(change.incarnation, where, `changes[${i}].incarnation`, 1),
    };
  });
  return { version, partitions, members, owners, changes };
}

function object(value: unknown, where: string, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(where, `${field} is not an object`);
  }
  return value as Record<string, unknown>;
}

function count(value: unknown, where: string, field: string, min: number): number {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw bad(where, `${field} is ${JSON.stringify(value)}, not an integer ≥ ${min}`);
  }
  return value as number;
}

function string(value: unknown, where: string, field: string): string {
  if (typeof value !== 'string' || value === '') throw bad(where, `${field} is not a name`);
  return value;
}

function strings(value: unknown, where: string, field: string): string[] {
  if (!Array.isArray(value)) throw bad(where, `${field} is not a list`);
  return value.map((item, i) => string(item, where, `${field}[${i}]`));
}

function bad(where: string, problem: string): LuactError {
  return new LuactError('INTERNAL', `${where} is not a membership view: ${problem}`, {
    retryable: false,
    details: { where },
  });
}
