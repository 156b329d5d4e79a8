import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kumo.spawn_task (§3.5)', () => {
  it('needs event_name and args (checklist 28)', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("kumo.spawn_task { event_name = 'e' }"))).toMatch(/missing field `args`/);
    expect(await errorOf(t.eval('kumo.spawn_task { args = {} }'))).toMatch(/missing field `event_name`/);
  });

  it('runs the handler in the background with one array argument (a JSON copy)', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('my.task', function(...)
        GOT = { n = select('#', ...), first = (...)[1], nested = (...)[2].k }
      end)
    `);
    await t.eval("kumo.spawn_task { event_name = 'my.task', args = { 30, { k = 'v' } }, ignored = true } ASYNC = GOT == nil");
    expect(await t.eval('return ASYNC')).toBe(true);
    await wait(20);
    expect(await t.eval('return GOT')).toEqual({ n: 1, first: 30, nested: 'v' });
  });

  it('logs an unregistered event and a raised error', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('boom', function() error('task exploded') end)
    `);
    await t.eval("kumo.spawn_task { event_name = 'nobody', args = {} } kumo.spawn_task { event_name = 'boom', args = {} }");
    await wait(20);
    const lines = t.log.lines.map((l) => l.message).join('\n');
    expect(lines).toMatch(/nobody has not been registered/);
    expect(lines).toMatch(/spawn_task boom failed: .*task exploded/);
  });

  it('does nothing under --validate', async () => {
    const t = newLua({ mode: { validating: true } });
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('my.task', function() RAN = true end)
    `);
    await t.eval("kumo.spawn_task { event_name = 'my.task', args = {} }");
    await wait(20);
    expect(await t.eval('return RAN')).toBeNull();
  });
});

describe('a task that loops forever', () => {
  it('ends when the runtime shuts down instead of holding the process', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('heartbeat', function(args)
        while true do BEATS = (BEATS or 0) + 1 kumo.sleep(args[1]) end
      end)
    `);
    await t.eval("kumo.spawn_task { event_name = 'heartbeat', args = { 3600 } }");
    await wait(20);
    expect(await t.eval('return BEATS')).toBe(1);
    t.ctx.runtime.close();
    await wait(20);
    expect(t.log.lines.map((l) => l.message).join('\n')).toMatch(/spawn_task heartbeat failed: .*the Lua runtime has been shut down/);
  });
});
