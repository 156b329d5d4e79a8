import { describe, expect, it } from 'vitest';
import { lua } from '../../src/lua/fengari.ts';
import { pushJson } from '../../src/lua/marshal.ts';
import { keyBytes } from '../../src/lua/strings.ts';
import { newLua, type TestContext } from '../helpers/lua.ts';
import type { JsonValue } from '../../src/util/json.ts';

function setGlobal(t: TestContext, name: string, v: JsonValue): void {
  pushJson(t.ctx.runtime.L, v);
  lua.lua_setglobal(t.ctx.runtime.L, keyBytes(name));
}

describe('object keys pushed through the interned-key cache', () => {
  it('build the same tables as plain field stores, in every state of their own', async () => {
    const a = newLua();
    const b = newLua();
    setGlobal(a, 'rec', { type: 'Delivery', response: { code: 250, content: 'ok' }, 'nul\u0000key': 1, '': 'empty' });
    setGlobal(b, 'rec', { type: 'Bounce', response: { code: 550 } });
    expect(await a.eval(`return { rec.type, rec.response.code, rec.response.content, rec['nul\\0key'], rec[''] }`)).toEqual(['Delivery', 250, 'ok', 1, 'empty']);
    expect(await b.eval('return { rec.type, rec.response.code, rec.response.content == nil }')).toEqual(['Bounce', 550, true]);
    expect(await a.eval('local n = 0 for k in pairs(rec) do n = n + 1 end return n')).toBe(4);
  });

  it('past the cache bound, further keys are still stored', async () => {
    const t = newLua();
    const many: Record<string, number> = {};
    for (let i = 0; i < 5000; i++) many[`k${i}`] = i;
    setGlobal(t, 'many', many);
    setGlobal(t, 'again', { k4999: 'late', fresh: 'new' });
    expect(await t.eval('local n = 0 for k, v in pairs(many) do assert(many[k] == tonumber(k:sub(2))) n = n + 1 end return n')).toBe(5000);
    expect(await t.eval('return { again.k4999, again.fresh }')).toEqual(['late', 'new']);
  });
});
