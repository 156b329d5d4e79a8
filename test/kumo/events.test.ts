import { describe, expect, it } from 'vitest';
import { lua } from '../../src/lua/fengari.ts';
import { pushText } from '../../src/lua/strings.ts';
import { newLua } from '../helpers/lua.ts';
import { LuaError } from '../../src/lua/errors.ts';
import { asRejection } from '../../src/kumo/reject.ts';

const hookArgs = (name: string) => (co: Parameters<typeof pushText>[0]) => {
  lua.lua_pushnil(co);
  pushText(co, name);
  return 2;
};

describe('kumo.on dispatch (lua-api.md §2)', () => {
  it('chains multi-handler events: no values passes on, any value (even nil) stops', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('should_enqueue_log_record', function(msg, name) if name == 'pass' then return end if name == 'nil' then return nil end end)
      kumo.on('should_enqueue_log_record', function(msg, name) return true end)
    `);
    expect(await t.ctx.events.fireBoolean('should_enqueue_log_record', hookArgs('pass'))).toBe(true);
    expect(await t.ctx.events.fireBoolean('should_enqueue_log_record', hookArgs('nil'))).toBe(false);
    expect(await t.ctx.events.fireBoolean('should_enqueue_log_record', hookArgs('other'))).toBe(true);
  });

  it('uses the default when no handler answers or none is registered', async () => {
    const t = newLua();
    await t.load(`require('kumo').on('should_enqueue_log_record', function() end)`);
    expect(await t.ctx.events.fireBoolean('should_enqueue_log_record', hookArgs('x'))).toBe(false);
    expect(await t.ctx.events.dispatch('get_queue_config', () => 0, () => 1)).toEqual({ handled: false });
  });

  it('rejects a second handler for a single-handler event, naming the first', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('init', function() end)
      local ok, err = pcall(kumo.on, 'init', function() end)
      RESULT = err
    `, 'init.lua');
    expect(await t.eval('return RESULT')).toBe('init event already has a handler defined at init.lua:3');
  });

  it('refuses kumo.on inside handlers other than main', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('init', function() kumo.on('late', function() end) end)
      kumo.on('main', function() kumo.on('from_main', function() end) end)
    `);
    await expect(t.ctx.events.fire('init')).rejects.toThrow(/while 'init' was running/);
    await t.ctx.events.fire('main');
    expect(t.ctx.events.has('from_main')).toBe(true);
  });

  it('sets _KUMO_CURRENT_EVENT and records registrars', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('custom', function() SEEN = _KUMO_CURRENT_EVENT end)
    `, 'p.lua');
    await t.ctx.events.fire('custom');
    expect(await t.eval('return SEEN')).toBe('custom');
    expect(await t.eval("return kumo.get_event_registrars('custom')")).toEqual([['p.lua:3']]);
    expect(await t.eval("return kumo.get_event_registrars('nothing')")).toBe(null);
  });
});

describe('kumo.reject', () => {
  it('is recognisable by the host after pcall and re-raise', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('send', function() local ok, e = pcall(kumo.reject, 451, 'try later'); error(e) end)
    `);
    const err = await t.ctx.events.fire('send').catch((e) => e);
    expect(err).toBeInstanceOf(LuaError);
    expect(asRejection(err.payload)).toMatchObject({ code: 451, text: 'try later', isTransient: true });
    expect(err.message).toBe('451 try later');
  });
  it('reads as text from Lua', async () => {
    expect(await newLua().eval("local ok, e = pcall(kumo.reject, 550, 'no'); return {tostring(e), e.code, 'x: ' .. e}")).toEqual(['550 no', 550, 'x: 550 no']);
  });
});

describe('unsupported functions', () => {
  it('name the function instead of calling nil', async () => {
    const t = newLua();
    expect(await t.eval('return select(2, pcall(kumo.redis.open, {}))')).toMatch(/^kumo\.redis\.open is not provided by kumo-lua/);
    expect(await t.eval('return select(2, pcall(kumo.configure_redis_throttles, {}))')).toMatch(/^kumo\.configure_redis_throttles is not provided/);
    expect(await t.eval('return kumo.something_unknown == nil')).toBe(true);
  });
  it('requiring a KumoMTA helper kumo-lua does not ship explains --lua-path', async () => {
    const t = newLua();
    await expect(t.eval("require 'policy-extras.tsa'")).rejects.toThrow(/point --lua-path \(or KUMO_LUA_PATH\)/);
  });
});

describe('diagnostics', () => {
  it('kumo.log_* prefixes file:line and joins arguments', async () => {
    const t = newLua();
    await t.load(`local kumo = require 'kumo'\nkumo.log_warn('hello', 1, 2.5, true)`, 'x.lua');
    expect(t.log.lines).toEqual([{ level: 'warn', message: 'x.lua:2: hello 1 2.5 true' }]);
  });
  it('kumo.traceback returns frames with null sentinels for C functions', async () => {
    const t = newLua();
    await t.load(`local kumo = require 'kumo'\nlocal function f() return kumo.traceback(1) end\nFRAMES = f()`, 'tb.lua');
    const frames = (await t.eval('return FRAMES')) as Array<Record<string, unknown>>;
    expect(frames[0]).toMatchObject({ event: 'Call', short_src: 'tb.lua', curr_line: 2, what: 'Lua', is_tail_call: false });
  });
  it('kumo.traceback names host frames like Lua does (what = C, [C], no line)', async () => {
    const t = newLua();
    await t.load(`local kumo = require 'kumo'\nlocal function f() return kumo.traceback(1) end\nlocal ok, frames = pcall(f)\nFRAMES = frames`, 'tb.lua');
    const frames = (await t.eval('return FRAMES')) as Array<Record<string, unknown>>;
    expect(frames[1]).toMatchObject({ what: 'C', short_src: '[C]', source: '=[C]', curr_line: null, name: 'pcall' });
  });
});
