/**
 * coroutine.resume as src/lua/coroutines.ts replaces it: the Lua 5.3
 * results, and host waits forwarded from a user's coroutine.
 */
import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';

const lua = (code: string) => newLua().eval(code);

describe('coroutine.resume results', () => {
  it('resuming the running coroutine gives false and the message, in that order', async () => {
    expect(await lua(`return { coroutine.resume(coroutine.running()) }`)).toEqual([false, 'cannot resume non-suspended coroutine']);
    expect(await lua(`
      local co
      co = coroutine.create(function() return coroutine.resume(co) end)
      return { coroutine.resume(co) }
    `)).toEqual([true, false, 'cannot resume non-suspended coroutine']);
  });

  it('an error in the coroutine: false and the error value; a dead one says so', async () => {
    expect(await lua(`
      local co = coroutine.create(function() error({ code = 7 }) end)
      local ok, err = coroutine.resume(co)
      local ok2, err2 = coroutine.resume(co)
      return { ok, err.code, ok2, err2 }
    `)).toEqual([false, 7, false, 'cannot resume dead coroutine']);
  });

  it('yields and returns pass their values', async () => {
    expect(await lua(`
      local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
      local r1 = { coroutine.resume(co, 1) }
      local r2 = { coroutine.resume(co, 5) }
      return { r1, r2 }
    `)).toEqual([[true, 2], [true, 10]]);
  });
});
