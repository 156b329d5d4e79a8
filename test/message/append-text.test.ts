import { describe, expect, it } from 'vitest';
import PostalMime from 'postal-mime';
import { withMessage, bytes, text } from './lua-fixture.ts';
import { errorOf } from '../helpers/lua.ts';

const HTML_ONLY = 'Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>a</p></body>\r\n</body></html>\r\n';

const ALTERNATIVE = [
  'From: a@example.com',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=C3=BC=C3=9Fe',
  '--b1',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('<html><body><p>Hi</p></body></html>').toString('base64'),
  '--b1--',
  '',
].join('\r\n');

async function parsed(data: Uint8Array) {
  return PostalMime.parse(Buffer.from(data));
}

describe('msg:append_text_plain / append_text_html', () => {
  it('HTML-only mail: append_text_plain is false and changes nothing', async () => {
    const f = withMessage({ data: bytes(HTML_ONLY) });
    expect(await f.eval(`return the_msg():append_text_plain('footer')`)).toBe(false);
    expect(text(f.msg.getData())).toBe(HTML_ONLY);
  });

  it('append_text_html inserts CRLF + html before the last </body>', async () => {
    const f = withMessage({ data: bytes(HTML_ONLY) });
    expect(await f.eval(`return the_msg():append_text_html('<p>footer</p>')`)).toBe(true);
    expect(text(f.msg.getData())).toBe('Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>a</p></body>\r\n\r\n<p>footer</p></body></html>\r\n');
  });

  it('other casings of </body> are not recognised: the html is appended', async () => {
    const f = withMessage({ data: bytes('Content-Type: text/html\r\n\r\n<body>x</Body>') });
    await f.eval(`the_msg():append_text_html('<p>f</p>')`);
    expect(text(f.msg.getData())).toBe('Content-Type: text/html\r\n\r\n<body>x</Body>\r\n<p>f</p>');
  });

  it('re-encodes the part in its own transfer encoding; other parts keep their bytes', async () => {
    const f = withMessage({ data: bytes(ALTERNATIVE) });
    expect(await f.eval(`local m = the_msg(); return { m:append_text_plain('Tschüs'), m:append_text_html('<p>Bye</p>') }`)).toEqual([true, true]);
    const data = text(f.msg.getData());
    expect(data).toContain('Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe\r\nTsch=C3=BCs\r\n--b1');
    const mail = await parsed(f.msg.getData());
    expect(mail.text?.replace(/\r?\n$/, '')).toBe('Grüße\nTschüs');
    expect(mail.html).toBe('<html><body><p>Hi</p>\r\n<p>Bye</p></body></html>');
  });

  it('a 7bit part that gets non-ASCII text becomes quoted-printable UTF-8', async () => {
    const f = withMessage({ data: bytes('Content-Type: text/plain; charset=us-ascii\r\n\r\nHello\r\n') });
    await f.eval(`the_msg():append_text_plain('café')`);
    const data = text(f.msg.getData());
    expect(data).toMatch(/Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n/);
    expect((await parsed(f.msg.getData())).text?.replace(/\r?\n$/, '')).toBe('Hello\n\ncafé');
  });

  it('a binary body raises', async () => {
    const bad = Buffer.from([0xff, 0xfe, 0x00, 0x80]).toString('base64');
    const f = withMessage({ data: bytes(`Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${bad}\r\n`) });
    expect(await errorOf(f.eval(`return the_msg():append_text_plain('x')`))).toMatch(/append_text_plain: the text\/plain part is binary/);
  });
});
