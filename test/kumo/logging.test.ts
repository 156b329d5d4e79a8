import { describe, expect, it } from 'vitest';
import { luaLoggingCallbacks } from '../../src/kumo/logging.ts';
import { pushJson } from '../../src/lua/marshal.ts';
import { LOGGING_SLOT, Logging } from '../../src/logging/index.ts';
import type { Message } from '../../src/message/message.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { NODE_ID, testMessage } from '../helpers/log-records.ts';
import { newLua } from '../helpers/lua.ts';
import { readSegments, recordLines, tempDir } from '../helpers/segments.ts';

function withLogging() {
  const t = newLua();
  const logging = new Logging({ clock: new VirtualClock(Date.UTC(2026, 0, 1)), nodeId: NODE_ID });
  t.ctx.provide(LOGGING_SLOT, logging);
  // Stand-in for the message binding: the policy sees a table with the id and meta.
  const pushMessage = (L: Parameters<typeof pushJson>[0], msg: Message) => pushJson(L, { id: msg.id, meta: msg.metaObject() }, { arrayMarker: true });
  const enqueued: Message[] = [];
  logging.setCallbacks({ ...luaLoggingCallbacks(t.ctx, pushMessage), enqueue: async (msg) => void enqueued.push(msg) });
  return { t, logging, enqueued };
}

describe('kumo.configure_* bindings', () => {
  it('configures local logs, hooks and disposition hooks from init and runs their events', async () => {
    const { t, logging, enqueued } = withLogging();
    const dir = await tempDir();
    await t.load(`
      local kumo = require 'kumo'
      DISPOSITIONS = {}
      kumo.on('init', function()
        kumo.configure_local_logs { log_dir = ${JSON.stringify(dir)}, meta = { 'tenant' }, max_file_size = 1e9,
          filter_event = 'keep_record', per_record = { Bounce = { enable = false } } }
        kumo.configure_log_hook { name = 'hooky', meta = { 'tenant' }, headers = { 'X-*' } }
        kumo.configure_log_disposition_hook { name = 'disp' }
      end)
      kumo.on('keep_record', function(msg) return msg.meta.tenant == 'acme' end)
      kumo.on('should_enqueue_log_record', function(msg, hook_name)
        if hook_name ~= 'hooky' then return end
        local rec = msg.meta.log_record
        return rec.type == 'Delivery' and rec.headers['X-Campaign-Id'] == 'summer24' and msg.meta.reception_protocol == 'LogRecord'
      end)
      kumo.on('log_disposition_disp', function(msg, record)
        table.insert(DISPOSITIONS, string.format('%s %s %s %d', record.type, type(record.peer_address), type(record.egress_pool), #record.meta))
      end)
    `);
    await t.ctx.events.fire('init');
    const response = { code: 250, enhanced_code: null, content: 'ok', command: null };
    await logging.log({ type: 'Delivery', message: testMessage(), response });
    await logging.log({ type: 'Delivery', message: testMessage({ meta: { tenant: 'other' } }), response });
    await logging.log({ type: 'Bounce', message: testMessage(), response });
    await logging.close();
    expect(enqueued).toHaveLength(2);
    const lines = recordLines((await readSegments(dir))[0]!.text);
    expect(lines.map((l) => [l.type, l.meta])).toEqual([['Delivery', { tenant: 'acme' }]]);
    expect(await t.eval('return DISPOSITIONS')).toEqual(['Delivery userdata userdata 0', 'Delivery userdata userdata 0', 'Bounce userdata userdata 0']);
  });

  it('raises Lua errors that name the bad option', async () => {
    const { t } = withLogging();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('init', function()
        local ok, err = pcall(kumo.configure_log_hook, { name = 'x', filter_event = 'nope' })
        ERR1 = tostring(err)
        kumo.configure_log_hook { name = 'dup' }
        ok, err = pcall(kumo.configure_log_disposition_hook, { name = 'dup' })
        ERR2 = tostring(err)
        ok, err = pcall(kumo.configure_local_logs, { log_dir = '/tmp/x', per_record = { Nope = {} } })
        ERR3 = tostring(err)
      end)
    `);
    await t.ctx.events.fire('init');
    expect(await t.eval('return ERR1')).toMatch(/kumo.configure_log_hook: unknown option 'filter_event'/);
    expect(await t.eval('return ERR2')).toMatch(/A logging hook with name `dup` has already been registered/);
    expect(await t.eval('return ERR3')).toMatch(/per_record: unknown option 'Nope'/);
  });

  it('says so when no logging service is attached', async () => {
    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('init', function() local ok, err = pcall(kumo.configure_log_hook, { name = 'x' }); ERR = tostring(err) end)
    `);
    await t.ctx.events.fire('init');
    expect(await t.eval('return ERR')).toMatch(/kumo.configure_log_hook: logging is not available/);
  });
});
