import { describe, expect, it } from 'vitest';
import PostalMime from 'postal-mime';
import { lua } from '../../src/lua/fengari.ts';
import { testMessage as messageAt } from '../../src/message/lua-binding.ts';
import { errorOf, newLua } from '../helpers/lua.ts';
import { VirtualClock } from '../../src/util/clock.ts';

const RECORD = `{
  type = 'Bounce', sender = 'sender@origin.test', recipient = 'rcpt@dest.test', delivery_protocol = 'ESMTP',
  created = 1767225600, timestamp = 1767229200,
  response = { code = 550, enhanced_code = { class = 5, subject = 1, detail = 1 }, content = 'no such\\r\\nuser', command = 'RCPT TO' },
  peer_address = { name = 'mx.dest.test', addr = '192.0.2.1' },
}`;
const PARAMS = `{ include_original_message = 'FullContent', enable_bounce = true, enable_expiration = true, reporting_mta = { mta_type = 'dns', name = 'mta.origin.test' }, stable_content = true }`;
const ORIGINAL = `kumo.make_message('sender@origin.test', 'rcpt@dest.test', 'Subject: hello\\r\\nX-Id: 7\\r\\n\\r\\nbody text\\r\\n')`;

async function generate(code: string): Promise<{ sender: string; recipients: string[]; text: string } | null> {
  const t = newLua({ clock: new VirtualClock(Date.UTC(2026, 0, 1, 2)) });
  return t.ctx.runtime.evaluate(`local kumo = require 'kumo'\n${code}`, (co) => {
    if (lua.lua_isnil(co, 1)) return null;
    const msg = messageAt(co, 1)!;
    return { sender: msg.sender, recipients: msg.recipients, text: new TextDecoder().decode(msg.getData()) };
  }, 'test');
}

describe('kumo.generate_rfc3464_message', () => {
  it('returns nil for an empty sender and for a non-ESMTP Bounce (§14.54)', async () => {
    expect(await generate(`local r = ${RECORD} r.sender = '' return kumo.generate_rfc3464_message(${PARAMS}, nil, r)`)).toBeNull();
    expect(await generate(`local r = ${RECORD} r.delivery_protocol = 'Lua' return kumo.generate_rfc3464_message(${PARAMS}, nil, r)`)).toBeNull();
    expect(await generate(`local p = ${PARAMS} p.enable_bounce = false return kumo.generate_rfc3464_message(p, nil, ${RECORD})`)).toBeNull();
    expect(await generate(`local r = ${RECORD} r.type = 'Delivery' return kumo.generate_rfc3464_message(${PARAMS}, nil, r)`)).toBeNull();
    expect(await generate(`local r = ${RECORD} r.type = 'Expiration' local p = ${PARAMS} p.enable_expiration = false return kumo.generate_rfc3464_message(p, nil, r)`)).toBeNull();
  });

  it('builds a DSN: sender <>, recipient = record sender, a message/delivery-status part (§14.55)', async () => {
    const dsn = (await generate(`return kumo.generate_rfc3464_message(${PARAMS}, ${ORIGINAL}, ${RECORD})`))!;
    expect(dsn.sender).toBe('');
    expect(dsn.recipients).toEqual(['sender@origin.test']);
    const parsed = await PostalMime.parse(dsn.text, { attachmentEncoding: 'utf8' } as never);
    expect(parsed.subject).toBe('Returned mail');
    expect(parsed.from).toMatchObject({ name: 'Mail Delivery Subsystem', address: 'mailer-daemon@mta.origin.test' });
    expect(dsn.text).toMatch(/^Content-Type: multipart\/report; report-type="delivery-status"; boundary="report-boundary"\r$/m);
    const types = parsed.attachments.map((a) => a.mimeType);
    expect(types).toContain('message/delivery-status');
    expect(types).toContain('message/rfc822');
    const status = String(parsed.attachments.find((a) => a.mimeType === 'message/delivery-status')!.content);
    expect(status).toContain('Reporting-MTA: dns; mta.origin.test');
    expect(status).toContain('Arrival-Date: Thu, 01 Jan 2026 00:00:00 +0000');
    expect(status).toContain('Final-Recipient: rfc822; rcpt@dest.test');
    expect(status).toContain('Action: failed');
    expect(status).toContain('Status: 5.1.1');
    expect(status).toContain('Remote-MTA: dns; mx.dest.test');
    expect(status).toContain('Diagnostic-Code: smtp; 550 5.1.1 no such user');
    expect(status).toContain('Last-Attempt-Date: Thu, 01 Jan 2026 01:00:00 +0000');
    expect(String(parsed.attachments.find((a) => a.mimeType === 'message/rfc822')!.content)).toContain('body text');
  });

  it('HeadersOnly attaches only the header block; No attaches nothing; Expiration without enhanced code says 5.0.0', async () => {
    const headers = (await generate(`local p = ${PARAMS} p.include_original_message = 'HeadersOnly' return kumo.generate_rfc3464_message(p, ${ORIGINAL}, ${RECORD})`))!;
    expect(headers.text).toContain('Content-Type: text/rfc822-headers\r\n\r\nSubject: hello\r\nX-Id: 7\r\n');
    expect(headers.text).not.toContain('body text');
    const none = (await generate(`local p = ${PARAMS} p.include_original_message = 'No' return kumo.generate_rfc3464_message(p, ${ORIGINAL}, ${RECORD})`))!;
    expect(none.text).not.toContain('Subject: hello');
    const expired = (await generate(`local r = ${RECORD} r.type = 'Expiration' r.response = { code = 551, content = 'too old' } return kumo.generate_rfc3464_message(${PARAMS}, nil, r)`))!;
    expect(expired.text).toContain('Status: 5.0.0');
    expect(expired.text).toContain('Diagnostic-Code: smtp; 551 too old');
  });

  it('bad params raise', async () => {
    const t = newLua();
    expect(await errorOf(t.eval(`return kumo.generate_rfc3464_message({ reporting_mta = { mta_type = 'dns', name = 'x' } }, nil, {})`))).toMatch(/missing field `include_original_message`/);
    expect(await errorOf(t.eval(`return kumo.generate_rfc3464_message({ include_original_message = 'All', reporting_mta = { mta_type = 'dns', name = 'x' } }, nil, {})`))).toMatch(/unknown variant `All`/);
    expect(await errorOf(t.eval(`return kumo.generate_rfc3464_message({ include_original_message = 'No' }, nil, {})`))).toMatch(/reporting_mta/);
  });
});
