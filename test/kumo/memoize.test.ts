import { describe, expect, it } from 'vitest';
import { newLua, evalLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';

const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);

const SETUP = `
  CALLS = 0
  local kumo = require 'kumo'
  LOOKUP = kumo.memoize(function(a, b)
    CALLS = CALLS + 1
    return a .. ':' .. tostring(b) .. ':' .. CALLS, { n = CALLS }
  end, { name = 'user.lookup', ttl = '10 seconds', capacity = 2 })
`;

describe('kumo.memoize', () => {
  it('caches results per JSON-encoded arguments until the TTL expires', async () => {
    const clock = new VirtualClock();
    const t = newLua({ clock });
    await t.eval(SETUP);
    expect(await t.eval(`return { LOOKUP('a', 1) }`)).toEqual(['a:1:1', { n: 1 }]);
    expect(await t.eval(`return { LOOKUP('a', 1) }`)).toEqual(['a:1:1', { n: 1 }]);
    expect(await t.eval(`return LOOKUP('a', '1')`)).toBe('a:1:2'); // '1' and 1 encode differently
    expect(await t.eval(`return CALLS`)).toBe(2);
    await clock.advance(9_999);
    expect(await t.eval(`return LOOKUP('a', 1)`)).toBe('a:1:1');
    await clock.advance(1);
    expect(await t.eval(`return LOOKUP('a', 1)`)).toBe('a:1:3');
  });
  it('evicts the least recently used entry beyond capacity', async () => {
    const t = newLua({ clock: new VirtualClock() });
    await t.eval(SETUP);
    await t.eval(`LOOKUP('a') LOOKUP('b') LOOKUP('a') LOOKUP('c')`); // b is least recently used
    expect(await t.eval(`return CALLS`)).toBe(3);
    expect(await t.eval(`return LOOKUP('a')`)).toBe('a:nil:1');
    expect(await t.eval(`return LOOKUP('b')`)).toBe('b:nil:4');
  });
  it('returns copies of cached tables', async () => {
    const t = newLua({ clock: new VirtualClock() });
    await t.eval(SETUP);
    await t.eval(`local _, tbl = LOOKUP('x') tbl.n = 99`);
    expect(await t.eval(`local _, tbl = LOOKUP('x') return tbl.n`)).toBe(1);
  });
  it('caches tables that hold userdata (a domain map inside, as KumoMTA helpers cache their data)', async () => {
    const t = newLua({ clock: new VirtualClock() });
    await t.eval(`
      local kumo = require 'kumo'
      LOADS = 0
      LOAD = kumo.memoize(function(files)
        LOADS = LOADS + 1
        return { queues = kumo.domain_map.new { ['*.example.com'] = { max_age = '1h' } }, options = { tenant_header = 'X-Tenant' }, files = files }
      end, { name = 'helper_data', ttl = '1 minute', capacity = 10 })`);
    const read = `local d = LOAD({ 'a.toml' }); return { d.queues['x.example.com'].max_age, d.options.tenant_header, d.files[1], LOADS }`;
    expect(await t.eval(read)).toEqual(['1h', 'X-Tenant', 'a.toml', 1]);
    // A hit hands out a fresh outer table around the same map: writes to the copy stay local.
    await t.eval(`local d = LOAD({ 'a.toml' }); d.options.tenant_header = 'changed'; d.queues = nil`);
    expect(await t.eval(read)).toEqual(['1h', 'X-Tenant', 'a.toml', 1]);
    expect(await t.eval(`return rawequal(LOAD({ 'a.toml' }).queues, LOAD({ 'a.toml' }).queues)`)).toBe(true);
  });

  it('lets concurrent callers of a missing key wait for one populate', async () => {
    const clock = new VirtualClock();
    const t = newLua({ clock });
    await t.eval(`CALLS = 0
      SLOW = kumo.memoize(function(k) CALLS = CALLS + 1 kumo.sleep(1) return k .. CALLS end, { name = 'user.slow', ttl = 60, capacity = 10 })`);
    const a = t.eval(`return SLOW('k')`);
    const b = t.eval(`return SLOW('k')`);
    await clock.advance(1000);
    expect(await Promise.all([a, b])).toEqual(['k1', 'k1']);
    expect(await t.eval(`return CALLS`)).toBe(1);
  });
  it('does not cache errors', async () => {
    const t = newLua({ clock: new VirtualClock() });
    await t.eval(`N = 0 F = kumo.memoize(function() N = N + 1 if N == 1 then error('boom') end return N end, { name = 'user.f', ttl = 60, capacity = 1 })`);
    expect(await t.eval(`local ok, e = pcall(F) return tostring(e):match('boom') ~= nil`)).toBe(true);
    expect(await t.eval(`return F()`)).toBe(2);
    expect(await t.eval(`return F()`)).toBe(2);
  });
  it('validates its parameters', async () => {
    expect(await err(`kumo.memoize(print, { name = 'x', capacity = 1 })`)).toMatch(/^deserialize error: missing field `ttl`, while processing /);
    expect(await err(`kumo.memoize(print, { name = 'x', ttl = 'soon', capacity = 1 })`)).toMatch(/^deserialize error: ttl: invalid value: string "soon", expected a duration/);
    expect(await err(`kumo.memoize(print, { ttl = 5, capacity = 1 })`)).toMatch(/missing field `name`/);
    expect(await err(`kumo.memoize(print, { name = 'x', ttl = 5 })`)).toMatch(/missing field `capacity`/);
    expect(await err(`kumo.memoize('nope', { name = 'x', ttl = 5, capacity = 1 })`)).toMatch(/bad argument #1/);
  });
});
