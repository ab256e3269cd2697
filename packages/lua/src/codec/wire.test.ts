import { LuactError } from '@luact/core';
import { describe, expect, it } from 'vitest';
import {
  decodeValue,
  decodeValues,
  ERROR_EXT_TYPE,
  encodeValue,
  encodeValues,
  MAX_DEPTH,
} from './wire.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const roundTrip = (value: unknown): unknown => decodeValue(encodeValue(value));

describe('wire codec (TypeScript end)', () => {
  it('round trips plain data', () => {
    const value = {
      s: 'text',
      n: 42,
      f: 0.5,
      t: true,
      nil: null,
      list: [1, 'two', [3], { four: 4 }],
      bytes: new Uint8Array([0, 255]),
      big: 2n ** 60n,
    };
    expect(roundTrip(value)).toEqual(value);
  });

  it('writes integers in the smallest class and the 64-bit class as int64', () => {
    expect(hex(encodeValue(127))).toBe('7f');
    expect(hex(encodeValue(-32))).toBe('e0');
    expect(hex(encodeValue(2 ** 32))).toBe('d30000000100000000');
    expect(hex(encodeValue(2n ** 32n))).toBe('d30000000100000000');
    expect(hex(encodeValue(5n))).toBe('05');
    expect(hex(encodeValue(2n ** 64n - 1n))).toBe('cfffffffffffffffff');
    expect(hex(encodeValue(1.5))).toBe('cb3ff8000000000000');
    expect(hex(encodeValue(2 ** 60))).toBe('cb43b0000000000000'); // beyond 2^53: a float
  });

  it('decodes 64-bit ints to numbers when exact, else bigint', () => {
    expect(decodeValue(unhex('d30000000100000000'))).toBe(2 ** 32);
    expect(decodeValue(unhex('d30020000000000000'))).toBe(2 ** 53);
    expect(decodeValue(unhex('d30020000000000001'))).toBe(2n ** 53n + 1n);
    expect(decodeValue(unhex('cfffffffffffffffff'))).toBe(2n ** 64n - 1n);
    expect(decodeValue(unhex('ca3fc00000'))).toBe(1.5); // float32
  });

  it('encodes undefined as nil and keeps array holes as nil', () => {
    expect(hex(encodeValue(undefined))).toBe('c0');
    expect(hex(encodeValue({ a: undefined }))).toBe('81a161c0');
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    expect(roundTrip([1, , 3])).toEqual([1, null, 3]);
  });

  it('decodes maps with only string keys to plain objects, others to Map', () => {
    expect(roundTrip(new Map([['a', 1]]))).toEqual({ a: 1 });
    expect(Object.getPrototypeOf(roundTrip({ a: 1 }))).toBe(Object.prototype);
    expect(
      roundTrip(
        new Map<unknown, unknown>([
          [1, 'a'],
          ['b', 2],
        ]),
      ),
    ).toEqual(
      new Map<unknown, unknown>([
        [1, 'a'],
        ['b', 2],
      ]),
    );
    expect(roundTrip({})).toEqual({});
  });

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const value = decodeValue(unhex(`81a95f5f70726f746f5f5f81a178${'01'}`)) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(value.x).toBeUndefined();
    expect(roundTrip(value)).toEqual(value);
  });

  it('copies bin out of the input buffer', () => {
    const input = encodeValue(new Uint8Array([1, 2, 3]));
    const output = decodeValue(input) as Uint8Array;
    input.fill(0);
    expect(Array.from(output)).toEqual([1, 2, 3]);
  });

  it('turns other byte views, Dates and class instances into plain data', () => {
    expect(roundTrip(new Uint16Array([1]))).toEqual(new Uint8Array([1, 0]));
    expect(roundTrip(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    expect(roundTrip(new Point(1, 2))).toEqual({ x: 1, y: 2 });
  });

  it('carries LuactError as ext type 1', () => {
    expect(ERROR_EXT_TYPE).toBe(1);
    const error = new LuactError('RATE_LIMITED', 'slow down', { details: { after: 5 } });
    const bytes = encodeValue(error);
    expect(hex(bytes).slice(0, 2)).toBe('c7');
    expect(hex(bytes).slice(4, 6)).toBe('01');
    expect(decodeValue(bytes.subarray(3))).toEqual(error.toData()); // the payload is a plain map
    const back = roundTrip({ err: error }) as { err: LuactError };
    expect(back.err).toBeInstanceOf(LuactError);
    expect(back.err.toData()).toEqual(error.toData());
    expect((roundTrip(new TypeError('bad')) as LuactError).toData()).toEqual({
      kind: 'INTERNAL',
      message: 'bad',
      retryable: true,
    });
  });

  it('decodes a malformed error payload to an UNKNOWN error', () => {
    const payload = encodeValue({ kind: 'NOPE', message: 7, retryable: 'yes', details: [1] });
    const ext = new Uint8Array([0xc7, payload.length, ERROR_EXT_TYPE, ...payload]);
    expect((decodeValue(ext) as LuactError).toData()).toEqual({
      kind: 'UNKNOWN',
      message: '7',
      retryable: true,
      details: { value: [1] },
    });
  });

  it('frames value lists as one array', () => {
    expect(hex(encodeValues([1, undefined, 'x', undefined]))).toBe('9401c0a178c0');
    expect(decodeValues(unhex('9401c0a178c0'))).toEqual([1, null, 'x', null]);
    expect(decodeValues(encodeValues([]))).toEqual([]);
    expect(() => decodeValues(unhex('80'))).toThrow(/expects an array/);
  });
});

describe('wire codec errors', () => {
  it('refuses functions and symbols with a TypeError naming the path', () => {
    expect(() => encodeValue({ handler: () => 1 })).toThrow(
      new TypeError("msgpack: cannot encode a function (at key 'handler')"),
    );
    expect(() => encodeValue([{ a: [Symbol('s')] }])).toThrow(
      new TypeError("msgpack: cannot encode a symbol (at key '[0].a[0]')"),
    );
    expect(() => encodeValue(new Map([['k', () => 1]]))).toThrow(/function \(at key 'k'\)/);
    expect(() => encodeValue({ s: new Set([1]) })).toThrow(
      new TypeError("msgpack: cannot encode a Set (at key 's')"),
    );
  });

  it('refuses cycles and nesting deeper than MAX_DEPTH', () => {
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).back = cyclic;
    expect(() => encodeValue(cyclic)).toThrow(
      new TypeError("msgpack: cannot encode an object that contains itself (at key 'a.back')"),
    );
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH; i++) deep = [deep];
    expect(encodeValue(deep).length).toBe(MAX_DEPTH + 1);
    expect(() => encodeValue([deep])).toThrow(/nested deeper than 64/);
  });

  it('refuses bigints outside 64 bits', () => {
    expect(() => encodeValue({ n: 2n ** 64n })).toThrow(RangeError);
    expect(() => encodeValue(-(2n ** 63n) - 1n)).toThrow(/outside the 64-bit range/);
  });

  it('refuses truncated input, trailing bytes and unknown ext types', () => {
    expect(() => decodeValue(unhex('9201'))).toThrow(/Unexpected end/);
    expect(() => decodeValue(unhex('0102'))).toThrow(/end of buffer not reached/);
    expect(() => decodeValue(unhex('d50507ff'))).toThrow(/Unknown extension type 5/);
    expect(() => decodeValue(unhex('91c1'))).toThrow(/0xc1/);
  });
});
