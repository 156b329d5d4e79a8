import { describe, expect, it } from 'vitest';
import { evalLua } from '../helpers/lua.ts';

const run = (code: string) => evalLua(`return ${code}`);
const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);

describe('kumo.make_listener_domain', () => {
  it('reads back like a table with defaults and dispositions by name (checklist 12)', async () => {
    expect(await run(`(function() local ld = kumo.make_listener_domain { log_oob = true }
      return { ld.log_oob, ld.log_arf, ld.relay_to } end)()`)).toEqual(['LogThenRelay', 'Ignore', false]);
    expect(await run(`kumo.make_listener_domain { log_arf = false, relay_to = true }.log_arf`)).toBe('Ignore');
    expect(await run(`kumo.make_listener_domain { log_arf = 'LogThenDrop' }.log_arf`)).toBe('LogThenDrop');
    expect(await run(`(function() local keys = {}
      for k, v in pairs(kumo.make_listener_domain { relay_from = { '10.0.0.0/24', '192.0.2.7' } }) do keys[#keys + 1] = k end
      table.sort(keys) return keys end)()`)).toEqual(['log_arf', 'log_oob', 'relay_from', 'relay_to']);
    expect(await run(`kumo.make_listener_domain { relay_from = { '10.0.0.0/24', '192.0.2.7' } }.relay_from`)).toEqual(['10.0.0.0/24', '192.0.2.7']);
    expect(await run(`kumo.make_listener_domain { ttl = '5m' }.relay_to`)).toBe(false);
  });

  it('is strict: unknown dispositions, host bits in CIDRs and unknown keys raise', async () => {
    expect(await err(`kumo.make_listener_domain { log_oob = 'Sometimes' }`)).toMatch(/^deserialize error: unknown variant `Sometimes`.*while processing/);
    expect(await err(`kumo.make_listener_domain { relay_from = { '10.0.0.1/24' } }`)).toMatch(/host bits are set; did you mean 10\.0\.0\.0\/24\?, while processing/);
    expect(await err(`kumo.make_listener_domain { relay_from = { 'nope' } }`)).toMatch(/invalid IP address "nope"/);
    expect(await err(`kumo.make_listener_domain { relay = true }`)).toMatch(/unknown field `relay`/);
    expect(await err(`kumo.make_listener_domain { relay_to = 'yes' }`)).toMatch(/expected a boolean/);
    expect(await err(`kumo.make_listener_domain { ttl = 'soon' }`)).toMatch(/ttl/);
  });
});
