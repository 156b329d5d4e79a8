import { describe, expect, it } from 'vitest';
import PostalMime from 'postal-mime';
import { withMessage, bytes, text } from './lua-fixture.ts';
import { errorOf, newLua } from '../helpers/lua.ts';

const PDF = Buffer.from('%PDF-1.4 fake').toString('base64');
const MIXED = [
  'From: Alice <alice@example.com>',
  'Subject: report',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'preamble',
  '--outer',
  'Content-Type: multipart/alternative; boundary="inner"',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=C3=BC=C3=9Fe',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hi</p>',
  '--inner--',
  '--outer',
  'Content-Type: application/pdf; name="r.pdf"',
  'Content-Disposition: attachment; filename="report.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  PDF,
  '--outer',
  'Content-Type: image/png',
  'Content-Disposition: inline',
  'Content-ID: <logo@example>',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('PNGDATA').toString('base64'),
  '--outer--',
  '',
].join('\r\n');

describe('msg:parse_mime and MimePart', () => {
  it('an untouched tree serialises to the same bytes', async () => {
    const f = withMessage({ data: bytes(MIXED) });
    expect(await f.eval(`return tostring(the_msg():parse_mime())`)).toBe(MIXED);
  });

  it('get_simple_structure finds the text, html, header part and attachments', async () => {
    const f = withMessage({ data: bytes(MIXED) });
    const r = await f.eval(`
      local s = the_msg():parse_mime():get_simple_structure()
      local a, b = s.attachments[1], s.attachments[2]
      return { s.text_part.body, s.html_part.body, s.amp_html_part == nil, s.header_part.headers:get_first_named_header_value('subject'),
        #s.attachments, a.file_name, a.inline, a.part.body, b.inline, b.content_id, b.file_name == nil, s.text_part.id, s.header_part.id }`);
    expect(r).toEqual(['Grüße', '<p>Hi</p>', true, 'report', 2, 'report.pdf', false, '%PDF-1.4 fake', true, 'logo@example', true, '0.0.0', '0']);
  });

  it('editing a part is local to the copy until set_data(tostring(root))', async () => {
    const f = withMessage({ data: bytes(MIXED) });
    await f.eval(`
      local root = the_msg():parse_mime()
      local s = root:get_simple_structure()
      s.text_part.body = 'Neuer Text – mit Umlaut ä'
      s.html_part:replace_body('<p>New</p>', 'text/html; charset=utf-8')
      _G.edited = tostring(root)`);
    expect(text(f.msg.getData())).toBe(MIXED);
    await f.eval(`the_msg():set_data(edited)`);
    const mail = await PostalMime.parse(Buffer.from(f.msg.getData()));
    expect(mail.text?.trim()).toBe('Neuer Text – mit Umlaut ä');
    expect(mail.html?.trim()).toBe('<p>New</p>');
    expect(mail.attachments.map((a) => a.filename)).toEqual(['report.pdf', null]);
    expect(mail.subject).toBe('report');
  });

  it('append_part and the kumo.mimepart constructors build parts mail readers understand', async () => {
    const t = newLua();
    const out = (await t.eval(`
      local mp = kumo.mimepart
      local root = mp.new_multipart('multipart/mixed', { mp.new_text_plain('plain ✓'), mp.new_html('<b>bold</b>') })
      root:append_part(mp.new_binary('application/octet-stream', '\\0\\1\\2\\255'))
      return tostring(root)`)) as string;
    const mail = await PostalMime.parse(Buffer.from(`Subject: built\r\n${out}`, 'latin1'));
    expect(mail.text?.startsWith('plain ✓')).toBe(true);
    expect(mail.html).toContain('<b>bold</b>');
    expect([...new Uint8Array(mail.attachments[0]!.content as ArrayBuffer)]).toEqual([0, 1, 2, 255]);
  });

  it('errors: append_part on a leaf, assigning another field', async () => {
    const t = newLua();
    expect(await errorOf(t.eval(`kumo.mimepart.new_text_plain('x'):append_part(kumo.mimepart.new_html('y'))`))).toMatch(/not multipart/);
    expect(await errorOf(t.eval(`local p = kumo.mimepart.new_text_plain('x'); p.id = 'y'`))).toMatch(/field id cannot be assigned/);
  });
});

describe('kumo.mimepart.builder', () => {
  const BUILD = `
    local b = kumo.mimepart.builder()
    b:text_plain('plain body')
    b:text_html('<p>html <img src="cid:logo"></p>')
    b:attach('application/pdf', '%PDF-1.4 fake', { file_name = 'report.pdf' })
    b:attach('image/png', 'PNGDATA', { inline = true, content_id = 'logo' })
    b:set_stable_content(true)
    return tostring(b:build())`;

  it('builds alternative text, related inline images and mixed attachments that mail readers understand', async () => {
    const out = (await newLua().eval(BUILD)) as string;
    expect(out).toMatch(/^MIME-Version: 1\.0\r\n/m);
    expect(out).toMatch(/Content-Type: multipart\/mixed/);
    const mail = await PostalMime.parse(Buffer.from(`Subject: built\r\n${out}`, 'latin1'));
    expect(mail.text?.trim()).toBe('plain body');
    expect(mail.html?.trim()).toBe('<p>html <img src="cid:logo"></p>');
    expect(mail.attachments.map((a) => [a.filename, a.mimeType, a.disposition, a.contentId ?? null])).toEqual([
      [null, 'image/png', 'inline', '<logo>'],
      ['report.pdf', 'application/pdf', 'attachment', null],
    ]);
  });

  it('stable content gives the same bytes every time; build() once per builder; an empty builder raises', async () => {
    const t = newLua();
    expect(await t.eval(BUILD)).toBe(await t.eval(BUILD));
    expect(await errorOf(t.eval(`local b = kumo.mimepart.builder(); b:text_plain('x'); b:build(); b:build()`))).toMatch(/already called/);
    expect(await errorOf(t.eval(`kumo.mimepart.builder():build()`))).toMatch(/nothing to build/);
  });
});
