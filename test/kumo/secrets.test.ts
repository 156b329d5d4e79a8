import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evalLua, newLua } from '../helpers/lua.ts';

const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);

describe('kumo.secrets.load (KeySource)', () => {
  it('returns key_data bytes, binary-safe', async () => {
    expect(await evalLua(`local s = kumo.secrets.load({ key_data = 'a\\0\\xffb', ignored = true }); return { #s, s:byte(3) }`)).toEqual([4, 255]);
  });
  it('reads a file given as a path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kumo-secrets-'));
    const file = path.join(dir, 'secret.bin');
    writeFileSync(file, Buffer.from([0x73, 0x00, 0x01]));
    expect(await evalLua(`local s = kumo.secrets.load(${JSON.stringify(file)}); return { #s, s:byte(1), s:byte(3) }`)).toEqual([3, 0x73, 1]);
  });
  it('names the missing file', async () => {
    expect(await err(`kumo.secrets.load('/nonexistent/kumo-key')`)).toBe('KeySource failed to load data from file `/nonexistent/kumo-key`: No such file or directory (os error 2)');
  });
  it('calls a kumo.on handler for { event_name, event_args }', async () => {
    const t = newLua();
    await t.load(`local kumo = require 'kumo'
      kumo.on('get_key', function(a, b) return 'key-' .. a .. '-' .. b end)`);
    expect(await t.eval(`return kumo.secrets.load({ event_name = 'get_key', event_args = { 'x', 2 } })`)).toBe('key-x-2');
  });
  it('reports an unregistered event', async () => {
    expect(await err(`kumo.secrets.load({ event_name = 'nobody', event_args = {} })`)).toBe('Event nobody has not been registered');
  });
});
