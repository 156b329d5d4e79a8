import { describe, expect, it } from 'vitest';
import { withMessage, bytes, text } from './lua-fixture.ts';
import { toJsonText } from '../../src/util/json.ts';
import { MESSAGE_SAVER, isForceSync } from '../../src/message/store-slot.ts';
import type { Message } from '../../src/message/message.ts';

describe('Message identity and envelope', () => {
  it('id is 32 hex chars and matches the model', async () => {
    const f = withMessage();
    expect(await f.eval('return the_msg():id()')).toBe(f.msg.id);
    expect(f.msg.id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('sender and recipient are EnvelopeAddress userdata with fields and tostring', async () => {
    const f = withMessage();
    const r = await f.eval(`
      local msg = the_msg()
      local s, r = msg:sender(), msg:recipient()
      return { type(s), s.user, s.domain, s.email, tostring(s), r.email, tostring(r), s.nope == nil }`);
    expect(r).toEqual(['userdata', 'sender', 'example.com', 'sender@example.com', 'sender@example.com', 'rcpt@example.org', 'rcpt@example.org', true]);
  });

  it('recipient is nil with no recipients and an array with several; recipient_list is always a list', async () => {
    const none = withMessage({ recipients: [] });
    expect(await none.eval('local m = the_msg(); return { m:recipient() == nil, #m:recipient_list() }')).toEqual([true, 0]);
    const many = withMessage({ recipients: ['a@x.com', 'b@y.com'] });
    expect(await many.eval(`
      local m = the_msg()
      local r = m:recipient()
      local l = m:recipient_list()
      return { type(r), r[1].email, r[2].domain, #l, l[2].user, getmetatable(l) == nil }`)).toEqual(['table', 'a@x.com', 'y.com', 2, 'b', true]);
  });

  it('set_sender / set_recipient parse strings, accept the null sender and reject userdata', async () => {
    const f = withMessage();
    await f.eval(`local m = the_msg(); m:set_sender('<>'); m:set_recipient({'<A@Example.COM>', 'b@c.d'})`);
    expect(f.msg.sender).toBe('');
    expect(f.msg.recipients).toEqual(['A@Example.COM', 'b@c.d']);
    expect(await f.eval(`local s = the_msg():sender(); return { s.user, s.domain, s.email }`)).toEqual(['', '', '']);
    await f.eval(`the_msg():set_sender('Postmaster')`);
    expect(await f.eval(`local s = the_msg():sender(); return { s.user, s.email }`)).toEqual(['postmaster', 'Postmaster']);
    await expect(f.eval(`local m = the_msg(); m:set_sender(m:sender())`)).rejects.toThrow(/expected an address string, got userdata/);
    await expect(f.eval(`the_msg():set_recipient('not an address')`)).rejects.toThrow(/invalid address/);
    await f.eval(`the_msg():set_recipient('solo@x.org')`);
    expect(f.msg.recipients).toEqual(['solo@x.org']);
  });

  it('a dot call gets a clear argument error', async () => {
    const f = withMessage();
    await expect(f.eval('return the_msg().id()')).rejects.toThrow(/Message expected, got no value; call methods with ':'/);
  });
});

describe('Message meta', () => {
  it('round-trips tables, integers, float 1.0, booleans and nil -> null with exact JSON forms', async () => {
    const f = withMessage();
    const back = await f.eval(`
      local m = the_msg()
      m:set_meta('int', 1)
      m:set_meta('float', 1.0)
      m:set_meta('half', 10 / 2)
      m:set_meta('frac', 0.25)
      m:set_meta('yes', true)
      m:set_meta('gone', nil)
      m:set_meta('obj', { b = 2, a = { 1, 2.0, 'x' } })
      m:set_meta('bin', '\\255\\0')
      local f = m:get_meta('float')
      return { math.type(m:get_meta('int')), math.type(f), m:get_meta('gone') == nil, m:get_meta('missing') == nil, m:get_meta('obj').a[3] }`);
    expect(back).toEqual(['integer', 'float', true, true, 'x']);
    const meta = f.msg.metaObject();
    expect(toJsonText(meta, { sortKeys: true })).toBe(
      '{"bin":[255,0],"float":1.0,"frac":0.25,"gone":null,"half":5.0,"int":1,"obj":{"a":[1,2.0,"x"],"b":2},"yes":true}',
    );
    expect(Object.prototype.hasOwnProperty.call(meta, 'gone')).toBe(true);
  });

  it('an empty array from get_meta stays [] through set_meta while {} stays {}', async () => {
    const f = withMessage({ meta: { arr: [], obj: {} } });
    await f.eval(`
      local m = the_msg()
      m:set_meta('arr2', m:get_meta('arr'))
      m:set_meta('obj2', m:get_meta('obj'))
      m:set_meta('fresh', {})`);
    expect(toJsonText(f.msg.metaObject(), { sortKeys: true })).toBe('{"arr":[],"arr2":[],"fresh":{},"obj":{},"obj2":{}}');
  });

  it('get_meta arrays carry the protected marker metatable', async () => {
    const f = withMessage({ meta: { list: [1, null, 3] } });
    expect(await f.eval(`local l = the_msg():get_meta('list'); return { getmetatable(l), l[1], l[2] == nil, l[3] }`)).toEqual([false, 1, true, 3]);
  });

  it('set_meta rejects functions with an error', async () => {
    const f = withMessage();
    await expect(f.eval(`the_msg():set_meta('f', function() end)`)).rejects.toThrow(/cannot serialise a function/);
  });
});

describe('Message data', () => {
  it('get_data/set_data are byte-exact for binary bodies', async () => {
    const f = withMessage();
    await f.eval(`the_msg():set_data('A\\0\\255\\254\\r\\n' .. string.char(128, 200))`);
    expect(Array.from(f.msg.getData())).toEqual([65, 0, 255, 254, 13, 10, 128, 200]);
    expect(await f.eval(`local d = the_msg():get_data(); return { #d, d:byte(3), d:byte(8) }`)).toEqual([8, 255, 200]);
    expect(f.msg.dataDirty).toBe(true);
  });
});

describe('Message routing and attempts', () => {
  it('queue_name follows meta', async () => {
    const f = withMessage({ recipients: ['x@Example.ORG'] });
    const names = await f.eval(`
      local m = the_msg()
      local out = { m:queue_name() }
      m:set_meta('tenant', 't'); out[#out+1] = m:queue_name()
      m:set_meta('campaign', 'c'); out[#out+1] = m:queue_name()
      m:set_meta('routing_domain', 'relay.net'); out[#out+1] = m:queue_name()
      m:set_meta('queue', 'hook.log_hook'); out[#out+1] = m:queue_name()
      m:set_meta('queue', nil); out[#out+1] = m:queue_name()
      return out`);
    expect(names).toEqual(['example.org', 't@example.org', 'c:t@example.org', 'c:t@example.org!relay.net', 'hook.log_hook', 'c:t@example.org!relay.net']);
  });

  it('queue_name errors for a non-string queue and for no recipients', async () => {
    const f = withMessage();
    await expect(f.eval(`local m = the_msg(); m:set_meta('queue', 5); return m:queue_name()`)).rejects.toThrow(/expected 'queue' to be a string value, got 5/);
    const g = withMessage({ recipients: [] });
    await expect(g.eval(`return the_msg():queue_name()`)).rejects.toThrow(/no recipients/);
  });

  it('num_attempts / increment_num_attempts', async () => {
    const f = withMessage();
    expect(await f.eval(`local m = the_msg(); m:increment_num_attempts(); m:increment_num_attempts(); return m:num_attempts()`)).toBe(2);
    expect(f.msg.numAttempts).toBe(2);
  });

  it('sync methods work where Lua cannot yield; async ones raise there', async () => {
    const f = withMessage();
    expect(await f.eval(`local m = the_msg(); local t = {2, 1}; table.sort(t, function(a, b) m:id(); m:num_attempts(); return a < b end); return t[1]`)).toBe(1);
    await expect(f.eval(`local m = the_msg(); local t = {2, 1}; table.sort(t, function(a, b) m:get_meta('x'); return a < b end)`)).rejects.toThrow(
      /Message:get_meta waits for I\/O and cannot be called here/,
    );
  });
});

describe('Message scheduling', () => {
  it('set_due returns RFC 3339 or the null sentinel', async () => {
    const f = withMessage();
    const r = await f.eval(`
      local m = the_msg()
      local a = m:set_due('2030-01-02T03:04:05Z')
      local b = m:set_due(nil)
      return { a, type(b), tostring(b == nil) }`);
    expect(r).toEqual(['2030-01-02T03:04:05+00:00', 'userdata', 'false']);
    expect(f.msg.due).toBeNull();
    await expect(f.eval(`the_msg():set_due('tomorrow')`)).rejects.toThrow(/not an RFC 3339 timestamp/);
  });

  it('set_scheduling stores, returns a table and moves due to first_attempt', async () => {
    const f = withMessage();
    const r = await f.eval(`
      local m = the_msg()
      local s = m:set_scheduling({ first_attempt = '2031-05-01T00:00:00Z', dow = 'Mon,Tue', tz = 'UTC', start = '09:00', ['end'] = '17:00' })
      return { s.first_attempt, type(s.expires), s.dow, s.tz, s.start, s['end'] }`);
    expect(r).toEqual(['2031-05-01T00:00:00Z', 'userdata', 'Mon,Tue', 'UTC', '09:00:00', '17:00:00']);
    // 2031-05-01 is a Thursday: the next window opens Monday 2031-05-05 09:00 UTC.
    expect(new Date(f.msg.due!).toISOString()).toBe('2031-05-05T09:00:00.000Z');
    expect(await f.eval(`return the_msg():set_due('2031-05-06T10:30:00Z')`)).toBe('2031-05-06T10:30:00+00:00');
    expect(await f.eval(`return type(the_msg():set_scheduling(nil))`)).toBe('userdata');
    expect(f.msg.scheduling).toBeNull();
  });

  it('set_scheduling validates its table', async () => {
    const f = withMessage();
    await expect(f.eval(`the_msg():set_scheduling({ dow = 'Mon' })`)).rejects.toThrow(/dow, tz, start and end go together; missing tz, start, end/);
    await expect(f.eval(`the_msg():set_scheduling({ bogus = 'x' })`)).rejects.toThrow(/invalid field name bogus/);
    await expect(f.eval(`the_msg():set_scheduling({ dow = 'Mon', tz = 'Mars/Base', start = '09:00', ['end'] = '10:00' })`)).rejects.toThrow(/not a known time zone/);
  });
});

describe('Message persistence', () => {
  it('save without a spool marks the message clean; shrink then reports false (no store)', async () => {
    const f = withMessage();
    expect(await f.eval(`local m = the_msg(); m:save(); return m:shrink()`)).toBe(false);
    expect(f.msg.metaDirty).toBe(false);
    expect(f.msg.dataDirty).toBe(false);
  });

  it('save goes through MESSAGE_SAVER; shrink releases meta and data once saved', async () => {
    const f = withMessage();
    const saved: string[] = [];
    const store = new Map<string, { meta: string; data: Uint8Array }>();
    f.ctx.provide(MESSAGE_SAVER, async (m: Message) => {
      saved.push(m.id);
      store.set(m.id, { meta: JSON.stringify(m.metaObject()), data: m.getData() });
      m.store = { loadMeta: (id) => JSON.parse(store.get(id)!.meta), loadData: (id) => store.get(id)!.data };
      m.metaDirty = false;
      m.dataDirty = false;
    });
    const r = await f.eval(`
      local m = the_msg()
      m:set_meta('k', 'v')
      local shrunk = m:shrink()
      return { shrunk, m:get_meta('k') }`);
    expect(r).toEqual([true, 'v']);
    expect(saved).toEqual([f.msg.id]);
    expect(await f.eval(`local m = the_msg(); m:save(); return m:shrink_data()`)).toBe(true);
    expect(saved.length).toBe(1);
    expect(f.msg.isDataLoaded()).toBe(false);
    expect(text(f.msg.getData())).toContain('Subject: hello');
  });

  it('save errors on empty data', async () => {
    const f = withMessage({ data: bytes('') });
    await expect(f.eval(`the_msg():save()`)).rejects.toThrow(/its data is empty/);
  });

  it('set_force_sync is recorded for the spool', async () => {
    const f = withMessage();
    await f.eval(`the_msg():set_force_sync(true)`);
    expect(isForceSync(f.msg)).toBe(true);
    await f.eval(`the_msg():set_force_sync(false)`);
    expect(isForceSync(f.msg)).toBe(false);
  });
});
