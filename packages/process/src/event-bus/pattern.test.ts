import { describe, expect, it } from 'vitest';
import { compilePattern, type EventPattern } from './pattern.js';

function compiled(text: string): EventPattern {
  const pattern = compilePattern(text);
  if (typeof pattern === 'string') throw new Error(pattern);
  return pattern;
}

function matching(text: string, names: readonly string[]): string[] {
  const pattern = compiled(text);
  return names.filter((name) => pattern.matches(name));
}

const NAMES = ['users', 'users.created', 'users.eu.created', 'orders.created', 'usersx'];

describe('event bus patterns', () => {
  it('a plain name matches only itself', () => {
    expect(matching('users', NAMES)).toEqual(['users']);
    expect(matching('users.created', NAMES)).toEqual(['users.created']);
  });

  it('a trailing * matches everything below the prefix, a lone * everything', () => {
    expect(matching('users.*', NAMES)).toEqual(['users.created', 'users.eu.created']);
    expect(matching('*', NAMES)).toEqual(NAMES);
  });

  it('an inner * matches exactly one segment', () => {
    expect(matching('*.created', NAMES)).toEqual(['users.created', 'orders.created']);
    expect(matching('users.*.created', NAMES)).toEqual(['users.eu.created']);
  });

  it('** matches any number of segments, none included', () => {
    expect(matching('users.**', NAMES)).toEqual(['users', 'users.created', 'users.eu.created']);
    expect(matching('**.created', NAMES)).toEqual([
      'users.created',
      'users.eu.created',
      'orders.created',
    ]);
  });

  it('(a|b) matches one of its alternatives', () => {
    expect(matching('(users|orders).created', NAMES)).toEqual(['users.created', 'orders.created']);
  });

  it('malformed patterns are refused with the reason', () => {
    expect(compilePattern('')).toBe('a pattern must not be empty');
    expect(compilePattern('users..created')).toMatch(/empty segment/);
    expect(compilePattern('users.')).toMatch(/empty segment/);
    expect(compilePattern('user*')).toMatch(/"user\*" mixes a wildcard with text/);
    expect(compilePattern('(users|)')).toMatch(/not an alternation/);
  });
});
