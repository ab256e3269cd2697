import { idProblem, WORKFLOW_ID_RULE } from '@luact/core';
import { describe, expect, it } from 'vitest';
import { childWorkflowId } from './child-id.js';

describe('the ID of an unnamed child', () => {
  it("is the parent's ID and the child's number", () => {
    expect(childWorkflowId('order-7', 3)).toBe('order-7.3');
  });

  it('keeps the ID rule when the parent has a long ID, without splitting a character', () => {
    for (const parent of ['a'.repeat(256), 'ü'.repeat(128), `${'x'.repeat(250)}😀😀`]) {
      const id = childWorkflowId(parent, 12);
      expect(idProblem(id, WORKFLOW_ID_RULE)).toBeUndefined();
      expect(id.endsWith('.12')).toBe(true);
      expect(parent.startsWith(id.slice(0, id.indexOf('~')))).toBe(true);
    }
  });

  it('tells apart the children of parents with a long common prefix, the same on every call', () => {
    const a = childWorkflowId(`${'p'.repeat(255)}a`, 1);
    const b = childWorkflowId(`${'p'.repeat(255)}b`, 1);
    expect(a).not.toBe(b);
    expect(childWorkflowId(`${'p'.repeat(255)}a`, 1)).toBe(a);
  });
});
