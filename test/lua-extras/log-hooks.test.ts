import { describe, expect, it } from 'vitest';
import { newLua, type TestContext } from '../helpers/lua.ts';
import { fire, PRELUDE } from '../helpers/lua-extras.ts';

/** A fresh state with the prelude and `policy` loaded as init.lua (line 1 of `policy` is init.lua:1). */
async function policy(code: string): Promise<TestContext> {
  const t = newLua();
  await t.load(PRELUDE, 'prelude.lua');
  await t.load(code, 'init.lua');
  return t;
}

const NEW_HOOKY = `local kumo = require 'kumo'; local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new {
  name = 'hooky',
  log_parameters = { headers = { 'Subject' }, meta = { 'tenant' } },
  constructor = function(domain, tenant, campaign)
    return { args = { domain, tenant, campaign }, send = function() return 'ok' end }
  end,
}
`;

/** The pcall'd error of loading `code` (a policy that must fail). */
async function loadError(code: string): Promise<string> {
  const t = newLua();
  await t.load(PRELUDE, 'prelude.lua');
  await t.load(`local ok, err = pcall(function()\n${code}\nend)\nERR = tostring(err)\nOK = ok`, 'init.lua');
  expect(await t.eval('return OK')).toBe(false);
  return (await t.eval('return ERR')) as string;
}

describe('log_hooks:new registration', () => {
  it('registers pre_init, should_enqueue_log_record, get_queue_config and make.<name>.log_hook', async () => {
    const t = await policy(NEW_HOOKY);
    for (const e of ['pre_init', 'should_enqueue_log_record', 'get_queue_config', 'make.hooky.log_hook']) {
      expect(t.ctx.events.has(e), e).toBe(true);
    }
    const registrars = (await t.eval(`return kumo.get_event_registrars('make.hooky.log_hook')`)) as string[][];
    expect(registrars).toHaveLength(1);
    expect(registrars[0]!.some((frame) => frame === 'init.lua:2')).toBe(true);
  });

  it('pre_init calls configure_log_hook with the name merged into log_parameters, and lets later pre_init handlers run', async () => {
    const t = await policy(`${NEW_HOOKY}\nkumo.on('pre_init', function() LATER_RAN = true end)`);
    await t.ctx.events.fire('pre_init');
    expect(await t.eval('return CALLS.configure_log_hook')).toEqual([{ name: 'hooky', headers: ['Subject'], meta: ['tenant'] }]);
    expect(await t.eval('return LATER_RAN')).toBe(true);
  });

  it('accepts the dot call style too', async () => {
    const t = await policy(`require('policy-extras.log_hooks').new { name = 'dotty', constructor = function() return {} end }`);
    expect(t.ctx.events.has('make.dotty.log_hook')).toBe(true);
  });

  it('registers the constructor for make.<name>.log_hook', async () => {
    const t = await policy(NEW_HOOKY);
    await t.eval(`DOMAIN = 'hooky.log_hook'`);
    const r = await fire(t, 'make.hooky.log_hook', ['DOMAIN', 'nil', 'nil'], 'CONN');
    expect(r.handled).toBe(true);
    expect(await t.eval(`return { CONN.args[1], CONN:send() }`)).toEqual(['hooky.log_hook', 'ok']);
  });
});

describe('log_hooks should_enqueue_log_record', () => {
  const setup = `${NEW_HOOKY}
kumo.on('should_enqueue_log_record', function(msg, hook_name) NEXT_SAW = hook_name; return true end)
MSG = make_msg('{"type":"Delivery"}\\n', { type = 'Delivery', queue = 'example.com', reception_protocol = 'ESMTP' })
LOOP_MSG = make_msg('{}\\n', { type = 'Delivery', queue = 'hooky.log_hook', reception_protocol = 'LogRecord' })
QUEUE_LOOP_MSG = make_msg('{}\\n', { type = 'Delivery', queue = 'other.log_hook' })
HOOKY, OTHER = 'hooky', 'other'`;

  it('routes its own records to <name>.log_hook and returns true', async () => {
    const t = await policy(setup);
    expect(await fire(t, 'should_enqueue_log_record', ['MSG', 'HOOKY'])).toEqual({ handled: true, value: true });
    expect(await t.eval(`return { MSG:get_meta('queue'), MSG:queue_name(), NEXT_SAW == nil }`)).toEqual(['hooky.log_hook', 'hooky.log_hook', true]);
  });

  it('passes other hooks on to the next handler (bare return)', async () => {
    const t = await policy(setup);
    expect(await fire(t, 'should_enqueue_log_record', ['MSG', 'OTHER'])).toEqual({ handled: true, value: true });
    expect(await t.eval(`return { NEXT_SAW, MSG:get_meta('queue') == nil }`)).toEqual(['other', true]);
  });

  it('drops records about log-hook messages (the loop guard) without setting a queue', async () => {
    const t = await policy(setup);
    expect(await fire(t, 'should_enqueue_log_record', ['LOOP_MSG', 'HOOKY'])).toEqual({ handled: true, value: false });
    expect(await fire(t, 'should_enqueue_log_record', ['QUEUE_LOOP_MSG', 'HOOKY'])).toEqual({ handled: true, value: false });
    expect(await t.eval(`return LOOP_MSG:get_meta('queue') == nil and QUEUE_LOOP_MSG:get_meta('queue') == nil`)).toBe(true);
  });

  it('drops a record when filter(msg, hook_name) returns true', async () => {
    const t = await policy(`local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new { name = 'f', constructor = function() return {} end,
  filter = function(msg, hook_name) FILTER_SAW = hook_name; return msg:get_meta('log_record').type == 'Delayed' end }
DELAYED = make_msg('{}\\n', { type = 'Delayed' })
DELIVERY = make_msg('{}\\n', { type = 'Delivery' })
F = 'f'`);
    expect((await fire(t, 'should_enqueue_log_record', ['DELAYED', 'F'])).value).toBe(false);
    expect((await fire(t, 'should_enqueue_log_record', ['DELIVERY', 'F'])).value).toBe(true);
    expect(await t.eval('return FILTER_SAW')).toBe('f');
  });
});

describe('log_hooks get_queue_config', () => {
  it('answers for <name>.log_hook with the default retry schedule and the custom_lua constructor', async () => {
    const t = await policy(`${NEW_HOOKY}\nDOMAIN = 'hooky.log_hook'`);
    const r = await fire(t, 'get_queue_config', ['DOMAIN', 'nil', 'nil', 'nil']);
    expect(r.handled).toBe(true);
    expect(await t.eval('return CALLS.make_queue_config[#CALLS.make_queue_config]')).toEqual({
      retry_interval: '1m',
      max_retry_interval: '20m',
      protocol: { custom_lua: { constructor: 'make.hooky.log_hook' } },
    });
  });

  it('bare-returns for any other queue so later handlers decide', async () => {
    const t = await policy(`${NEW_HOOKY}\nDOMAIN = 'example.com'`);
    expect(await fire(t, 'get_queue_config', ['DOMAIN', 'nil', 'nil', 'nil'])).toEqual({ handled: false, value: null });
    expect(await t.eval('return #CALLS.make_queue_config')).toBe(0);
  });

  it('merges queue_config over the defaults and passes the batching options', async () => {
    const t = await policy(`local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new { name = 'b', constructor = function() return {} end,
  queue_config = { retry_interval = '5m', max_age = '1 day' },
  batch_size = 50, min_batch_size = 10, max_batch_latency = '2s' }
DOMAIN = 'b.log_hook'`);
    await fire(t, 'get_queue_config', ['DOMAIN', 'nil', 'nil', 'nil']);
    expect(await t.eval('return CALLS.make_queue_config[#CALLS.make_queue_config]')).toEqual({
      retry_interval: '5m',
      max_retry_interval: '20m',
      max_age: '1 day',
      protocol: { custom_lua: { constructor: 'make.b.log_hook', batch_size: 50, min_batch_size: 10, max_batch_latency: '2s' } },
    });
  });
});

describe('log_hooks option validation', () => {
  const ctor = `constructor = function() return {} end`;
  const cases: [string, RegExp][] = [
    [`{ name = 'x', ${ctor}, bogus = 1 }`, /log_hooks:new: unknown field `bogus`, expected one of `batch_size`, /],
    [`{ ${ctor} }`, /log_hooks:new: missing field `name`/],
    [`{ name = 'x' }`, /log_hooks:new: missing field `constructor`/],
    [`{ name = 'x', constructor = 'make.x' }`, /log_hooks:new: constructor: invalid type: string "make.x", expected a function/],
    [`{ name = 'x', ${ctor}, batch_size = '10' }`, /log_hooks:new: batch_size: invalid type: string "10", expected an integer/],
    [`{ name = 'x', ${ctor}, batch_size = 0 }`, /log_hooks:new: batch_size: must be at least 1, got 0/],
    [`{ name = 'x', ${ctor}, max_batch_latency = '10' }`, /log_hooks:new: max_batch_latency: invalid value: string "10", expected a duration/],
    [`{ name = 'x', ${ctor}, filter = true }`, /log_hooks:new: filter: invalid type: boolean `true`, expected a function/],
    [`{ name = 'a@b', ${ctor} }`, /log_hooks:new: name: "a@b" cannot be used as a queue name/],
    [`{ name = 'x', ${ctor}, log_parameters = { header = { 'Subject' } } }`, /log_hooks:new: log_parameters: unknown field `header`, expected one of `back_pressure`, `deferred_spool`, `headers`, `meta`, `name`, `per_record`/],
    [`{ name = 'x', ${ctor}, log_parameters = { headers = 'Subject' } }`, /log_hooks:new: log_parameters.headers: invalid type: string "Subject", expected a sequence/],
    [`{ name = 'x', ${ctor}, log_parameters = { name = 'y' } }`, /log_hooks:new: log_parameters.name \("y"\) differs from name \("x"\)/],
    [`{ name = 'x', ${ctor}, queue_config = { protocol = {} } }`, /log_hooks:new: queue_config.protocol: log_hooks sets the protocol itself/],
    [`{ name = 'x', ${ctor}, queue_config = { retry_intervall = '1m' } }`, /log_hooks:new: queue_config.retry_intervall: unknown field `retry_intervall`/],
    [`{ name = 'x', ${ctor}, queue_config = { retry_interval = true } }`, /log_hooks:new: queue_config.retry_interval: (`retry_interval`: )?invalid type: boolean `true`/],
    [`'x'`, /log_hooks:new: expected a table of options, got string "x"/],
  ];
  for (const [args, pattern] of cases) {
    it(`rejects ${args}`, async () => {
      const err = await loadError(`require('policy-extras.log_hooks'):new ${args}`);
      expect(err).toMatch(pattern);
      expect(err).not.toMatch(/deserialize error|while processing/);
    });
  }

  it('reports the error at the policy line that called log_hooks:new', async () => {
    const t = newLua();
    await t.load(PRELUDE, 'prelude.lua');
    const failure = t.load(`local log_hooks = require 'policy-extras.log_hooks'\n\nlog_hooks:new { name = 'x', batch_size = 'many', constructor = function() end }`, 'init.lua');
    await expect(failure).rejects.toThrow(/init\.lua:3: log_hooks:new: batch_size: invalid type: string "many", expected an integer/);
  });

  it('refuses a second hook with the same name, naming the first helper', async () => {
    const err = await loadError(`local lh = require 'policy-extras.log_hooks'
lh:new { name = 'dup', ${ctor} }
lh:new_json { name = 'dup', url = 'http://127.0.0.1:1/' }`);
    expect(err).toMatch(/log_hooks:new_json: a hook named 'dup' was already set up by log_hooks:new/);
  });

  it('explains a clash with a constructor the policy registered itself, registering nothing else', async () => {
    const t = newLua();
    await t.load(PRELUDE, 'prelude.lua');
    const failure = t.load(`local kumo = require 'kumo'
kumo.on('make.x.log_hook', function() return {} end)
require('policy-extras.log_hooks'):new { name = 'x', ${ctor} }`, 'init.lua');
    await expect(failure).rejects.toThrow(/init\.lua:3: log_hooks:new: make\.x\.log_hook event already has a handler defined at init\.lua:2/);
    expect(t.ctx.events.has('should_enqueue_log_record')).toBe(false);
    expect(t.ctx.events.has('pre_init')).toBe(false);
  });

  it('says where it went wrong when called from inside init', async () => {
    const t = newLua();
    await t.load(PRELUDE, 'prelude.lua');
    await t.load(`local kumo = require 'kumo'
kumo.on('init', function()
  require('policy-extras.log_hooks'):new { name = 'late', ${ctor} }
end)`, 'init.lua');
    await expect(t.ctx.events.fire('init')).rejects.toThrow(/init\.lua:3: log_hooks:new: kumo\.on\('make\.late\.log_hook', \.\.\.\) was called while 'init' was running/);
  });

  it('registers nothing when validation fails', async () => {
    const t = newLua();
    await t.load(PRELUDE, 'prelude.lua');
    await t.load(`pcall(function() require('policy-extras.log_hooks'):new { name = 'x', batch_size = 0, constructor = function() end } end)`, 'init.lua');
    expect(t.ctx.events.has('should_enqueue_log_record')).toBe(false);
    expect(t.ctx.events.has('make.x.log_hook')).toBe(false);
  });
});

describe('log_hooks:new_disposition_hook', () => {
  it('configures the disposition hook from pre_init and registers log_disposition_<name>', async () => {
    const t = await policy(`require('policy-extras.log_hooks'):new_disposition_hook { name = 'disp', hook = function(msg, record) SAW = record.type end }
REC = { type = 'Bounce' }`);
    expect(t.ctx.events.has('log_disposition_disp')).toBe(true);
    await t.ctx.events.fire('pre_init');
    expect(await t.eval('return CALLS.configure_log_disposition_hook')).toEqual([{ name: 'disp' }]);
    await fire(t, 'log_disposition_disp', ['nil', 'REC']);
    expect(await t.eval('return SAW')).toBe('Bounce');
  });

  it('validates its options', async () => {
    expect(await loadError(`require('policy-extras.log_hooks'):new_disposition_hook { name = 'd' }`)).toMatch(/log_hooks:new_disposition_hook: missing field `hook`/);
    expect(await loadError(`require('policy-extras.log_hooks'):new_disposition_hook { name = 'd', hook = print, per_record = 5 }`)).toMatch(/new_disposition_hook: per_record: invalid type: integer `5`, expected a table/);
  });
});
