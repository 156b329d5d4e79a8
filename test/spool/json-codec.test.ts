import { describe, expect, it } from 'vitest';
import { decodeJson, encodeJson } from '../../src/spool/json-codec.ts';
import { JsonFloat, toJsonText, type JsonValue } from '../../src/util/json.ts';

describe('spool meta codec', () => {
  it('writes plain meta as the lossless writer does', () => {
    const meta = { queue: 'q', n: 5, f: 1.25, neg: -0, list: [1, 'a', null, true, { x: 'é\u2028' }], empty: {}, none: [] };
    expect(encodeJson(meta)).toBe(toJsonText(meta));
  });

  it.each<[string, JsonValue]>([
    ['an integral float keeps its .0', { f: new JsonFloat(5), nested: [{ g: new JsonFloat(-0) }] }],
    ['an integer of 1e21 or more stays an integer', { big: 1e21, bigger: -2e22 }],
    ['tiny and huge non-integers', { a: 1.5e-7, b: 0.000001, c: 1.5e300 }],
  ])('round-trips %s', (_, value) => {
    expect(decodeJson(encodeJson(value))).toEqual(value);
    expect(encodeJson(value)).toBe(toJsonText(value));
  });

  it('writes an undefined member as null, like the lossless writer', () => {
    const meta = { a: undefined, b: [undefined] } as unknown as JsonValue;
    expect(encodeJson(meta)).toBe('{"a":null,"b":[null]}');
  });
});
