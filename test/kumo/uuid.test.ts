import { describe, expect, it } from 'vitest';
import { evalLua } from '../helpers/lua.ts';

const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);

describe('kumo.uuid', () => {
  it('parses and renders every form', async () => {
    expect(await evalLua(`local u = kumo.uuid.parse('{67E55044-10B1-426F-9247-BB680E5FE0C8}')
      return { u.hyphenated, u.simple, u.braced, u.urn, #u.bytes, u.bytes:byte(1), tostring(u) }`)).toEqual([
      '67e55044-10b1-426f-9247-bb680e5fe0c8',
      '67e5504410b1426f9247bb680e5fe0c8',
      '{67e55044-10b1-426f-9247-bb680e5fe0c8}',
      'urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8',
      16,
      0x67,
      '67e55044-10b1-426f-9247-bb680e5fe0c8',
    ]);
    expect(await evalLua(`return kumo.uuid.parse('urn:uuid:67e55044-10b1-426f-9247-bb680e5fe0c8') == kumo.uuid.parse('67e5504410b1426f9247bb680e5fe0c8')`)).toBe(true);
  });
  it('makes versioned UUIDs', async () => {
    expect(await evalLua(`return { kumo.uuid.new_v1().hyphenated:sub(15, 15), kumo.uuid.new_v4().hyphenated:sub(15, 15), kumo.uuid.new_v6().hyphenated:sub(15, 15), kumo.uuid.new_v7().hyphenated:sub(15, 15) }`)).toEqual(['1', '4', '6', '7']);
    expect(await evalLua(`return kumo.uuid.new_v4().hyphenated ~= kumo.uuid.new_v4().hyphenated`)).toBe(true);
  });
  it('rejects malformed text', async () => {
    expect(await err(`kumo.uuid.parse('not-a-uuid')`)).toMatch(/^invalid UUID/);
  });
});
