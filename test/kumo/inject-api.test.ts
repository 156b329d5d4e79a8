/** kumo.api.inject.inject_v1 / build_v1 (lua-api-more.md §3.9, engine.md §8.4). */
import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { LISTENER_RECORDS, MESSAGE_INTAKE } from '../../src/server/ports.ts';
import { RecordingIntake, RecordingSink } from '../server/recorders.ts';

function wired() {
  const t = newLua();
  const intake = new RecordingIntake();
  const sink = new RecordingSink();
  t.ctx.provide(MESSAGE_INTAKE, intake);
  t.ctx.provide(LISTENER_RECORDS, sink);
  return { t, intake, sink };
}

describe('kumo.api.inject', () => {
  it('inject_v1 fires http_message_generated, queues one message per recipient and returns the HTTP response table', async () => {
    const { t, intake, sink } = wired();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('http_message_generated', function(msg, auth)
        msg:set_meta('queue', msg:recipient().domain == 'drop.example' and 'null' or 'q1')
        msg:set_meta('peer', auth.peer_address)
      end)`);
    const result = await t.eval(`
      return kumo.api.inject.inject_v1 {
        envelope_sender = 'from@s.example',
        recipients = { { email = 'a@r.example', name = 'A' }, { email = 'b@drop.example' } },
        content = 'Subject: hi {{ name }}\\r\\n\\r\\nbody\\r\\n',
      }
    `);
    expect(result).toEqual({ success_count: 2, fail_count: 0, failed_recipients: [], errors: [] });
    expect(intake.inserted.map((m) => m.recipients[0])).toEqual(['a@r.example']);
    const msg = intake.inserted[0]!;
    expect(msg.getMeta('queue')).toBe('q1');
    expect(msg.getMeta('reception_protocol')).toBe('HTTP');
    expect(msg.getMeta('received_from')).toBe('127.0.0.1');
    expect(msg.getMeta('peer')).toBe('127.0.0.1');
    expect(Buffer.from(msg.getData()).toString()).toContain('Subject: hi A');
    expect(sink.records.map((r) => r.type)).toEqual(['Reception']);
  });

  it('inject_v1 counts a recipient the policy rejects as failed; a bad request raises with the HTTP error text', async () => {
    const { t } = wired();
    await t.load("local kumo = require 'kumo'; kumo.on('http_message_generated', function(msg) kumo.reject(550, 'no thanks') end)");
    const result = await t.eval(`
      return kumo.api.inject.inject_v1 { envelope_sender = 's@x.example', recipients = { { email = 'r@y.example' } }, content = 'Subject: x\\r\\n\\r\\nb' }
    `);
    expect(result).toMatchObject({ success_count: 0, fail_count: 1, failed_recipients: ['r@y.example'] });
    expect(await errorOf(t.eval("return kumo.api.inject.inject_v1 { recipients = {}, content = 'x' }"))).toMatch(/kumo\.api\.inject\.inject_v1: .*envelope_sender/);
  });

  it('build_v1 returns built Messages without firing events, spooling or queueing', async () => {
    const { t, intake, sink } = wired();
    await t.load("local kumo = require 'kumo'; kumo.on('http_message_generated', function() FIRED = true end)");
    const out = await t.eval(`
      local fired = FIRED or false
      local msgs = kumo.api.inject.build_v1 {
        envelope_sender = 'from@s.example',
        recipients = { { email = 'a@r.example', name = 'Ann' }, { email = 'b@r.example' } },
        content = { text_body = 'hello {{ name }}', subject = 'S', from = { email = 'from@s.example', name = 'F' } },
      }
      return { n = #msgs, r1 = msgs[1]:recipient().user, r2 = msgs[2]:recipient().user, sender = tostring(msgs[1]:sender()),
               body = msgs[1]:get_data(), proto = msgs[1]:get_meta('reception_protocol'), fired = FIRED or false }
    `);
    expect(out).toMatchObject({ n: 2, r1: 'a', r2: 'b', sender: 'from@s.example', proto: 'HTTP', fired: false });
    expect((out as { body: string }).body).toContain('hello Ann');
    expect(intake.saved.length + intake.inserted.length + sink.records.length).toBe(0);
    expect(await errorOf(t.eval("return kumo.api.inject.build_v1 { envelope_sender = 's@x.example', recipients = { { email = 'r@y.example' } }, content = '{{ oops' }"))).toMatch(
      /kumo\.api\.inject\.build_v1: content:/,
    );
  });
});
