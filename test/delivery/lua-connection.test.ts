import { afterEach, describe, expect, it } from 'vitest';
import { LuaConnectionFactory } from '../../src/delivery/lua-connection.ts';
import { Message } from '../../src/message/message.ts';
import { newLua } from '../helpers/lua.ts';
import { makeTestEngine, spoolIdAt, until, type TestEngine } from '../helpers/engine.ts';

function msg(i: number): Message {
  return new Message({ sender: 's@x.example', recipients: [`r${i}@example.com`], data: new TextEncoder().encode(`body ${i}`), meta: { n: i } });
}

const POLICY = `
local kumo = require 'kumo'
calls = {}
closed = 0
kumo.on('make.ok', function(domain, tenant, campaign)
  table.insert(calls, { domain = domain, tenant = tenant or 'nil', campaign = campaign or 'nil' })
  local Conn = {}
  Conn.__index = Conn
  function Conn:send(m) return 'sent ' .. m:get_meta('n') end
  function Conn:send_batch(ms)
    local ids = {}
    for _, m in ipairs(ms) do table.insert(ids, tostring(m:get_meta('n'))) end
    return 'batch ' .. table.concat(ids, ',')
  end
  function Conn:close() closed = closed + 1 end
  return setmetatable({}, Conn)
end)
kumo.on('make.reject', function()
  return { send = function(self, m) local function inner() kumo.reject(451, 'try later') end inner() end }
end)
kumo.on('make.boom', function() return { send = function(self, m) error('boom') end } end)
kumo.on('make.nil', function() return { send = function(self, m) return nil end } end)
kumo.on('make.number', function() return { send = function(self, m) return 42 end } end)
kumo.on('make.nosend', function() return {} end)
kumo.on('make.string', function() return 'not a table' end)
kumo.on('make.fail', function() error('cannot connect') end)
`;

async function setup() {
  const t = newLua();
  await t.load(POLICY);
  return { t, factory: new LuaConnectionFactory(t.ctx.runtime, t.ctx.events) };
}

describe('LuaConnectionFactory', () => {
  it('calls the constructor with (domain, tenant|nil, campaign|nil) and send/send_batch/close as methods', async () => {
    const { t, factory } = await setup();
    const one = await factory.connect('make.ok', 'example.com', null, null, { batchSize: 1 });
    expect(await one.send([msg(7)])).toEqual({ kind: 'delivered', content: 'sent 7' });
    await one.close();
    const many = await factory.connect('make.ok', 'example.com', 'acme', 'spring', { batchSize: 10 });
    expect(await many.send([msg(1), msg(2), msg(3)])).toEqual({ kind: 'delivered', content: 'batch 1,2,3' });
    await many.close();
    await many.close();
    expect(await t.eval('return calls')).toEqual([
      { domain: 'example.com', tenant: 'nil', campaign: 'nil' },
      { domain: 'example.com', tenant: 'acme', campaign: 'spring' },
    ]);
    expect(await t.eval('return closed')).toBe(2);
  });

  it('maps kumo.reject (even from a nested function) to a rejection', async () => {
    const { factory } = await setup();
    const c = await factory.connect('make.reject', 'd', null, null);
    expect(await c.send([msg(1)])).toEqual({ kind: 'rejected', code: 451, text: 'try later' });
  });

  it('maps other errors and bad return values to errors with KumoMTA prefixes', async () => {
    const { factory } = await setup();
    const boom = await (await factory.connect('make.boom', 'd', null, null)).send([msg(1)]);
    expect(boom.kind).toBe('error');
    expect((boom as { text: string }).text).toMatch(/^sender:send method failed: runtime error: .*boom/);
    expect(await (await factory.connect('make.nil', 'd', null, null)).send([msg(1)])).toEqual({ kind: 'error', text: 'sender:send method failed: error converting Lua nil to String' });
    expect(await (await factory.connect('make.number', 'd', null, null)).send([msg(1)])).toEqual({ kind: 'delivered', content: '42' });
    expect(await (await factory.connect('make.nosend', 'd', null, null)).send([msg(1)])).toEqual({ kind: 'error', text: 'sender:send method not found' });
    expect(await (await factory.connect('make.nosend', 'd', null, null, { batchSize: 5 })).send([msg(1)])).toEqual({ kind: 'error', text: 'sender:send_batch method not found' });
    expect(await (await factory.connect('make.string', 'd', null, null)).send([msg(1)])).toEqual({ kind: 'error', text: 'invalid connection object' });
  });

  it('constructor errors, missing handlers and multi-handler names fail the connection', async () => {
    const { factory } = await setup();
    await expect(factory.connect('make.fail', 'd', null, null)).rejects.toThrow(/cannot connect/);
    await expect(factory.connect('make.none', 'd', null, null)).rejects.toThrow(/no handler is registered .*'make.none'/);
    await expect(factory.connect('get_queue_config', 'd', null, null)).rejects.toThrow(/multi-handler/);
  });
});

describe('custom_lua end to end', () => {
  let engine: TestEngine | null = null;
  afterEach(async () => {
    await engine?.close();
    engine = null;
  });

  it('a webhook policy posts each message with kumo.http and the engine logs Delivery', async () => {
    const t = newLua();
    engine = await makeTestEngine({ manager: { connections: new LuaConnectionFactory(t.ctx.runtime, t.ctx.events) } });
    const e = engine;
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('make.webhook', function(domain, tenant, campaign)
        local client = kumo.http.build_client {}
        return {
          send = function(self, msg)
            local response = client:post('${e.sink.url}/hook'):body('[{"id":"' .. msg:id() .. '"}]'):send()
            local text = response:text()
            if response:status_code() ~= 200 then kumo.reject(response:status_code(), text) end
            return string.format('%d %s', response:status_code(), text)
          end,
        }
      end)
    `);
    const m = new Message({ sender: 's@x.example', recipients: ['r@example.com'], data: new TextEncoder().encode('hello'), id: spoolIdAt(e.clock.now()) });
    await e.manager.insert(m);
    await until(() => e.records.of('Delivery').length === 1, 'delivery through Lua');
    expect(e.records.of('Delivery')[0]!.response.content).toBe('200 accepted');
    expect(e.sink.ids()).toEqual([m.id]);
  });
});
