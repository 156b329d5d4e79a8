import { describe, expect, it } from 'vitest';
import { withMessage, bytes, text } from './lua-fixture.ts';

const RICH = [
  'Received: from a\r\n\tby b; Mon, 1 Jan 2024 00:00:00 +0000',
  'Subject: =?UTF-8?Q?Caf=C3=A9?= =?UTF-8?B?IGF1IGxhaXQ=?=',
  'X-Campaign-Id: camp-7',
  'x-mailer: Foo',
  'X-Tag: one',
  'X-Tag: two',
  'X-Folded: part one\r\n  part two',
  'X-Latin: =?ISO-8859-1?Q?gr=FC=DFe?=',
  'From: a@example.com',
].join('\r\n');

function richMessage(body = 'body line\r\n') {
  return withMessage({ data: bytes(`${RICH}\r\n\r\n${body}`) });
}

describe('reading headers', () => {
  it('get_first_named_header_value decodes RFC 2047, unfolds and is case-insensitive', async () => {
    const f = richMessage();
    const r = await f.eval(`
      local m = the_msg()
      return { m:get_first_named_header_value('subject'), m:get_first_named_header_value('X-FOLDED'),
               m:get_first_named_header_value('x-latin'), m:get_first_named_header_value('x-tag'),
               m:get_first_named_header_value('Nope') == nil, m:get_first_named_header_value('received') }`);
    expect(r).toEqual(['Café au lait', 'part one  part two', 'grüße', 'one', true, 'from a\tby b; Mon, 1 Jan 2024 00:00:00 +0000']);
  });

  it('get_all_named_header_values lists every value (empty table when none)', async () => {
    const f = richMessage();
    expect(await f.eval(`local m = the_msg(); return { m:get_all_named_header_values('X-Tag'), #m:get_all_named_header_values('none') }`)).toEqual([['one', 'two'], 0]);
  });

  it('get_all_headers gives {name, value} pairs in order with original spelling', async () => {
    const f = richMessage();
    const all = (await f.eval(`return the_msg():get_all_headers()`)) as string[][];
    expect(all.map((p) => p[0])).toEqual(['Received', 'Subject', 'X-Campaign-Id', 'x-mailer', 'X-Tag', 'X-Tag', 'X-Folded', 'X-Latin', 'From']);
    expect(all[1]).toEqual(['Subject', 'Café au lait']);
  });

  it('raw 8-bit UTF-8 header values are read as text', async () => {
    const f = withMessage({ data: bytes('Subject: naïve ☃\r\n\r\nx') });
    expect(await f.eval(`return the_msg():get_first_named_header_value('Subject')`)).toBe('naïve ☃');
  });
});

describe('editing headers', () => {
  it('append_header inserts before the blank line; prepend_header at the start', async () => {
    const f = withMessage({ data: bytes('Subject: s\r\n\r\nbody\r\n') });
    await f.eval(`local m = the_msg(); m:append_header('X-After', 'a'); m:prepend_header('X-Before', 'b')`);
    expect(text(f.msg.getData())).toBe('X-Before: b\r\nSubject: s\r\nX-After: a\r\n\r\nbody\r\n');
  });

  it('append_header fails on a JSON (log record) body', async () => {
    const f = withMessage({ data: bytes('{"type":"Delivery","id":"x"}\n') });
    await expect(f.eval(`the_msg():append_header('X-A', 'b')`)).rejects.toThrow(/could not find the end of the header block/);
    await f.eval(`the_msg():prepend_header('X-A', 'b')`);
    expect(text(f.msg.getData())).toBe('X-A: b\r\n{"type":"Delivery","id":"x"}\n');
  });

  it('append_header with encode=true RFC 2047-encodes and folds, and decodes back', async () => {
    const f = withMessage({ data: bytes('Subject: s\r\n\r\nbody') });
    const value = 'Grüße aus Köln — a rather long subject line that certainly needs folding somewhere';
    const back = await f.eval(`
      local m = the_msg()
      m:append_header('X-Enc', '${value}', true)
      m:append_header('X-Raw', 'Grüße')
      return m:get_first_named_header_value('X-Enc')`);
    expect(back).toBe(value);
    const data = text(f.msg.getData());
    expect(data).toMatch(/X-Enc: =\?UTF-8\?Q\?Gr=C3=BC=C3=9Fe/);
    for (const line of data.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(data).toContain('X-Raw: Gr\xc3\xbc\xc3\x9fe\r\n\r\nbody');
  });

  it('remove_all_named_headers drops every instance (and its continuation lines), keeping the rest byte-exact', async () => {
    const body = 'caf\xe9 \xff\xfe binary\r\n';
    const data = Buffer.from(`Subject: \xe9t\xe9\r\nX-Folded: a\r\n b\r\nX-Tag: 1\r\nx-folded: c\r\n\r\n${body}`, 'latin1');
    const f = withMessage({ data: new Uint8Array(data) });
    await f.eval(`the_msg():remove_all_named_headers('X-FOLDED')`);
    expect(Buffer.from(f.msg.getData()).equals(Buffer.from(`Subject: \xe9t\xe9\r\nX-Tag: 1\r\n\r\n${body}`, 'latin1'))).toBe(true);
  });

  it('removing an absent header leaves the data untouched (not dirtied)', async () => {
    const f = withMessage();
    f.msg.dataDirty = false;
    await f.eval(`the_msg():remove_all_named_headers('X-None')`);
    expect(f.msg.dataDirty).toBe(false);
  });

  it('remove_x_headers: all X- headers, or exactly the named ones', async () => {
    const f = richMessage();
    await f.eval(`the_msg():remove_x_headers({ 'x-tag', 'X-Campaign' })`);
    expect(text(f.msg.getData())).not.toContain('X-Tag');
    expect(text(f.msg.getData())).toContain('X-Campaign-Id');
    await f.eval(`the_msg():remove_x_headers()`);
    const after = (await f.eval(`local out = {} for _, h in ipairs(the_msg():get_all_headers()) do out[#out+1] = h[1] end return out`)) as string[];
    expect(after).toEqual(['Received', 'Subject', 'From']);
  });
});

describe('importing headers into meta', () => {
  it('import_x_headers maps names to snake keys, last one wins, values decoded', async () => {
    const f = richMessage();
    await f.eval(`the_msg():import_x_headers()`);
    const meta = f.msg.metaObject();
    expect(meta).toMatchObject({ x_campaign_id: 'camp-7', x_mailer: 'Foo', x_tag: 'two', x_folded: 'part one  part two', x_latin: 'grüße' });
    expect(meta.subject).toBeUndefined();
  });

  it('import_x_headers with names: exact and prefix wildcard', async () => {
    const f = richMessage();
    await f.eval(`the_msg():import_x_headers({ 'X-Campaign-Id', 'x-l*', 'Subject' })`);
    expect(f.msg.metaObject()).toEqual({ x_campaign_id: 'camp-7', x_latin: 'grüße', subject: 'Café au lait' });
  });

  it('import_headers: match modes, transforms, target and remove', async () => {
    const f = richMessage();
    await f.eval(`the_msg():import_headers({
      { name = 'X-Tag', match = 'all' },
      { name = 'X-Campaign-Id', transform = 'camel_case', remove = true },
      { name = 'Subject', target = 'subj' },
      { name = 'x-m*', transform = 'pascal_case' },
      { name = 'X-Folded', transform = 'kebab_case', match = 'first' },
    })`);
    expect(f.msg.metaObject()).toEqual({ x_tag: ['one', 'two'], xCampaignId: 'camp-7', subj: 'Café au lait', XMailer: 'Foo', 'x-folded': 'part one  part two' });
    expect(text(f.msg.getData())).not.toContain('X-Campaign-Id');
    await expect(f.eval(`the_msg():import_headers({ { name = 'X-*', target = 'x' } })`)).rejects.toThrow(/'target' cannot be used with the wildcard/);
    await expect(f.eval(`the_msg():import_headers({ { name = 'X-A', match = 'middle' } })`)).rejects.toThrow(/'match' must be one of first, last, all/);
  });
});

describe('kumo.make_message and kumo.inject_message', () => {
  it('make_message builds a message with one recipient and empty meta', async () => {
    const f = withMessage();
    const r = await f.eval(`
      local m = kumo.make_message('<a@b.com>', 'c@d.org', 'Subject: x\\r\\n\\r\\nhi\\255')
      return { m:sender().email, m:recipient().email, #m:recipient_list(), m:get_data(), m:queue_name(), m:id():len(), m:get_meta('x') == nil }`);
    expect(r).toEqual(['a@b.com', 'c@d.org', 1, [83, 117, 98, 106, 101, 99, 116, 58, 32, 120, 13, 10, 13, 10, 104, 105, 255], 'd.org', 32, true]);
  });

  it('inject_message hands the message to the queue manager slot', async () => {
    const f = withMessage();
    const { MESSAGE_INJECTOR } = await import('../../src/message/store-slot.ts');
    await expect(f.eval(`kumo.inject_message(kumo.make_message('a@b.com', 'c@d.org', 'x'))`)).rejects.toThrow(/kumo.inject_message: the queue manager is not available/);
    const got: Array<[string, boolean]> = [];
    f.ctx.provide(MESSAGE_INJECTOR, async (m, opts) => {
      got.push([m.queueName(), opts.deferredSpool]);
    });
    await f.eval(`
      local m = kumo.make_message('a@b.com', 'c@d.org', 'x')
      m:set_meta('queue', 'q1')
      kumo.inject_message(m)
      kumo.inject_message(m, true)`);
    expect(got).toEqual([['q1', false], ['q1', true]]);
    await expect(f.eval(`local m = kumo.make_message('a@b.com', 'c@d.org', 'x'); m:set_meta('queue', {}); kumo.inject_message(m)`)).rejects.toThrow(/expected 'queue' to be a string/);
  });
});
