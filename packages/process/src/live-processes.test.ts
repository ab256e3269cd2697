import { describe, expect, it } from 'vitest';
import { LiveProcesses } from './live-processes.js';
import type { Process } from './process.js';

const processNumbered = (localId: number) => ({ localId }) as Process;

describe('the live processes of a node', () => {
  it('finds each by its number, recent or long-lived, and lists them oldest first', () => {
    const live = new LiveProcesses();
    const all = Array.from({ length: 10_000 }, (_, i) => processNumbered(i + 1));
    for (const process of all) live.add(process);
    expect(live.size).toBe(10_000);
    for (const process of all) expect(live.get(process.localId)).toBe(process);
    expect(live.get(0)).toBeUndefined();
    expect(live.get(10_001)).toBeUndefined();
    expect(live.get(-1)).toBeUndefined();

    // End every third, the long-lived ones and the recent ones alike.
    const ended = all.filter((process) => process.localId % 3 === 0);
    for (const process of ended) live.delete(process);
    for (const process of ended) expect(live.get(process.localId)).toBeUndefined();
    const left = all.filter((process) => process.localId % 3 !== 0);
    for (const process of left) expect(live.get(process.localId)).toBe(process);
    expect(live.size).toBe(left.length);
    expect(live.values()).toEqual(left);
  });

  it('keeps a process added after newer numbers took its slot, and ending one twice counts once', () => {
    const live = new LiveProcesses();
    // A spawn that waited for its cluster name starts after 5,000 later numbers.
    for (let id = 2; id <= 5_001; id++) live.add(processNumbered(id));
    const late = processNumbered(1);
    live.add(late);
    expect(live.get(1)).toBe(late);
    expect(live.get(4_097)?.localId).toBe(4_097);
    live.delete(late);
    live.delete(late);
    expect(live.get(1)).toBeUndefined();
    expect(live.size).toBe(5_000);
    expect(live.values()[0]?.localId).toBe(2);
  });
});
