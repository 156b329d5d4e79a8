import { afterEach, describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { makeMessage, makeTestEngine, quiesce, type TestEngine } from '../helpers/engine.ts';
import { adminOpsFor } from '../../src/daemon/admin-adapter.ts';
import { ADMIN_OPS } from '../../src/server/ports.ts';

let engine: TestEngine | null = null;
afterEach(async () => {
  await engine?.close();
  engine = null;
});

async function lua() {
  const e = (engine = await makeTestEngine());
  const t = newLua({ clock: e.clock });
  t.ctx.provide(ADMIN_OPS, adminOpsFor(e.manager));
  return { e, t };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('kumo.api.admin (§3.9)', () => {
  it('suspend.suspend returns a UUID shown by list(); delete is true then false (checklist 32)', async () => {
    const { e, t } = await lua();
    const id = await t.eval("return kumo.api.admin.suspend.suspend { domain = 'example.com', reason = 'r', duration = '10m', whatever = 1 }");
    expect(id).toMatch(UUID);
    expect(e.manager.rules.matchSuspend('example.com', e.clock.now())).toBeTruthy();
    expect(await t.eval('return kumo.api.admin.suspend.list()')).toEqual([
      { id, campaign: null, tenant: null, domain: 'example.com', reason: 'r', duration: { secs: 600, nanos: 0 } },
    ]);
    expect(await t.eval(`return { kumo.api.admin.suspend.delete('${id}'), kumo.api.admin.suspend.delete('${id}') }`)).toEqual([true, false]);
    expect(await errorOf(t.eval("return kumo.api.admin.suspend.delete('not-a-uuid')"))).toMatch(/is not a UUID/);
  });

  it('bounce.bounce{} raises; a rule registers without an immediate sweep and bounces when touched', async () => {
    const { e, t } = await lua();
    expect(await errorOf(t.eval('return kumo.api.admin.bounce.bounce {}'))).toMatch(/missing field `reason`/);
    expect(await errorOf(t.eval("return kumo.api.admin.bounce.bounce { reason = 'x', nope = 1 }"))).toMatch(/unknown field `nope`/);
    const id = await t.eval("return kumo.api.admin.bounce.bounce { domain = 'example.com', reason = 'go away', suppress_logging = true }");
    expect(id).toMatch(UUID);
    const list = (await t.eval('return kumo.api.admin.bounce.list()')) as Record<string, unknown>[];
    expect(list[0]).toMatchObject({ id, reason: 'go away', total_bounced: 0, duration: { secs: 300, nanos: 0 } });
    await e.manager.insert(makeMessage('r@example.com', {}, e.clock));
    await quiesce();
    // suppress_logging is forced false from Lua: the AdminBounce record is logged.
    expect(e.records.of('AdminBounce').length).toBe(1);
  });

  it('suspend_ready_q takes the exact ready queue name; a past expires gives an expired entry', async () => {
    const { e, t } = await lua();
    const id = await t.eval("return kumo.api.admin.suspend_ready_q.suspend { name = 'unspecified->example.com@lua:make.webhook', reason = 'slow' }");
    expect(e.manager.rules.readyQueueSuspension('unspecified->example.com@lua:make.webhook', e.clock.now())).not.toBeNull();
    expect(await t.eval('return kumo.api.admin.suspend_ready_q.list()[1].name')).toBe('unspecified->example.com@lua:make.webhook');
    await t.eval("kumo.api.admin.suspend_ready_q.suspend { name = 'q', reason = 'old', expires = '2001-01-01T00:00:00Z' }");
    expect(await t.eval('return #kumo.api.admin.suspend_ready_q.list()')).toBe(1);
    expect(await t.eval(`return kumo.api.admin.suspend_ready_q.delete('${id}')`)).toBe(true);
  });
});
