import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { lua } from '../../src/lua/fengari.ts';
import { checkMessage } from '../../src/message/lua-binding.ts';

const T0 = Date.UTC(2026, 0, 1);

describe('kumo.make_throttle', () => {
  it('a bogus spec raises (§14.24)', async () => {
    const t = newLua({ clock: new VirtualClock(T0) });
    expect(await errorOf(t.eval(`return kumo.make_throttle('t', 'bogus')`))).toMatch(/invalid throttle spec "bogus"/);
    expect(await errorOf(t.eval(`return kumo.make_throttle('t', '0/s')`))).toMatch(/must be > 0/);
  });

  it("'2/s': two quick calls pass, the third is throttled; allowed retry_after is the null sentinel (§14.25)", async () => {
    const t = newLua({ clock: new VirtualClock(T0) });
    const r = (await t.eval(`
      local th = kumo.make_throttle('t25', '2/s')
      local a, b, c = th:throttle(), th:throttle(), th:throttle()
      return {
        a.throttled, b.throttled, c.throttled, c.retry_after.secs >= 1, c.retry_after.secs,
        type(a.retry_after) == 'userdata', type(a.retry_after), a.limit, a.remaining, b.remaining, c.remaining,
      }
    `)) as unknown[];
    expect(r).toEqual([false, false, true, true, 1, true, 'userdata', 2, 1, 0, 0]);
  });

  it('recovers as the virtual clock moves', async () => {
    const clock = new VirtualClock(T0);
    const t = newLua({ clock });
    await t.eval(`th = kumo.make_throttle('rec', '1/m') assert(not th:throttle().throttled)`);
    expect(await t.eval(`local r = th:throttle() return { r.throttled, r.retry_after.secs }`)).toEqual([true, 60]);
    await clock.advance(60_000);
    expect(await t.eval(`return th:throttle().throttled`)).toBe(false);
  });

  it('same name + spec share state; same name + other spec do not (§14.26)', async () => {
    const t = newLua({ clock: new VirtualClock(T0) });
    expect(await t.eval(`
      local a = kumo.make_throttle('shared', '1/h')
      local b = kumo.make_throttle('shared', '1/h')
      local c = kumo.make_throttle('shared', '2/h')
      local d = kumo.make_throttle('other', '1/h')
      return { a:throttle().throttled, b:throttle().throttled, c:throttle().throttled, d:throttle().throttled }
    `)).toEqual([false, true, false, false]);
  });

  it('delay_message_if_throttled moves the due time only when throttled (§14.27)', async () => {
    const t = newLua({ clock: new VirtualClock(T0) });
    const run = (code: string) =>
      t.ctx.runtime.evaluate(`local kumo = require 'kumo'\n${code}`, (co) => ({ delayed: lua.lua_toboolean(co, 1), due: checkMessage(co, 2).due }), 'test');
    await t.eval(`th = kumo.make_throttle('dm', '1/h') m = kumo.make_message('a@x.test', 'b@y.test', 'Subject: x\\r\\n\\r\\nhi')`);
    expect(await run(`return th:delay_message_if_throttled(m), m`)).toEqual({ delayed: false, due: null });
    expect(await run(`return th:delay_message_if_throttled(m), m`)).toEqual({ delayed: true, due: T0 + 3_600_000 });
  });

  it('sleep_if_throttled waits on the clock; explain describes the rate', async () => {
    const clock = new VirtualClock(T0);
    const t = newLua({ clock });
    const pending = t.eval(`
      local th = kumo.make_throttle('sl', '1/s')
      local first = th:sleep_if_throttled()
      local second = th:sleep_if_throttled()
      return { first, second, th:explain(), kumo.make_throttle('x', '10/m,max_burst=5'):explain() }
    `);
    await clock.advance(1000);
    expect(await pending).toEqual([false, true, '1 per second', '10 per minute with bursts of up to 5']);
  });
});
