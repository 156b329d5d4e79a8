import { describe, expect, it } from 'vitest';
import { withMessage, bytes, text } from './lua-fixture.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { newLua } from '../helpers/lua.ts';
import { detectIssues, checkFixConformance } from '../../src/message/conformance.ts';
import libqp from 'libqp';

const GOOD = 'Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <a@b>\r\nMIME-Version: 1.0\r\nSubject: ok\r\n\r\nhello\r\n';
const ALL = 'MISSING_COLON_VALUE|NON_CANONICAL_LINE_ENDINGS|NAME_ENDS_WITH_SPACE|LINE_TOO_LONG|NEEDS_TRANSFER_ENCODING|MISSING_DATE_HEADER|MISSING_MESSAGE_ID_HEADER|MISSING_MIME_VERSION';

describe('detecting conformance issues', () => {
  it('a conforming message has none', () => {
    expect([...detectIssues(bytes(GOOD))]).toEqual([]);
  });

  it('names each issue', () => {
    const bad = bytes(`Subject : x\nBogusLine\r\nX-Long: ${'a'.repeat(1000)}\r\n\r\ncaf\u00e9\r\n`);
    expect([...detectIssues(bad)].sort()).toEqual(
      ['LINE_TOO_LONG', 'MISSING_COLON_VALUE', 'MISSING_DATE_HEADER', 'MISSING_MESSAGE_ID_HEADER', 'MISSING_MIME_VERSION', 'NAME_ENDS_WITH_SPACE', 'NEEDS_TRANSFER_ENCODING', 'NON_CANONICAL_LINE_ENDINGS'],
    );
  });

  it('8-bit content declared 8bit does not need a transfer encoding', () => {
    const msg = GOOD.replace('Subject: ok', 'Subject: ok\r\nContent-Transfer-Encoding: 8bit').replace('hello', 'h\u00e9llo');
    expect(detectIssues(bytes(msg)).has('NEEDS_TRANSFER_ENCODING')).toBe(false);
  });
});

describe('msg:check_fix_conformance', () => {
  it('returns nil for a conforming message and leaves it unchanged', async () => {
    const f = withMessage({ data: bytes(GOOD) });
    f.msg.dataDirty = false;
    expect(await f.eval(`return the_msg():check_fix_conformance('${ALL}', '')`)).toBeNull();
    expect(f.msg.dataDirty).toBe(false);
  });

  it('returns an error string naming the checked issues, without fixing', async () => {
    const f = withMessage({ data: bytes('Subject: x\r\n\r\nbody\r\n') });
    const r = await f.eval(`return the_msg():check_fix_conformance('MISSING_DATE_HEADER|MISSING_COLON_VALUE', 'MISSING_DATE_HEADER')`);
    expect(r).toBe('message has conformance issues: MISSING_DATE_HEADER');
    expect(text(f.msg.getData())).toBe('Subject: x\r\n\r\nbody\r\n');
  });

  it('rejects unknown issue names', async () => {
    const f = withMessage();
    await expect(f.eval(`the_msg():check_fix_conformance('NOPE', '')`)).rejects.toThrow(/unknown conformance issue 'NOPE' in checks/);
  });

  it('adds Date, Message-ID and MIME-Version', async () => {
    const clock = new VirtualClock(Date.UTC(2024, 4, 6, 7, 8, 9));
    const f = withMessage({ data: bytes('Subject: x\r\n\r\nbody\r\n') }, newLua({ clock }));
    expect(await f.eval(`return the_msg():check_fix_conformance('', 'MISSING_DATE_HEADER|MISSING_MESSAGE_ID_HEADER|MISSING_MIME_VERSION')`)).toBeNull();
    const data = text(f.msg.getData());
    expect(data).toMatch(new RegExp(`^Subject: x\\r\\nDate: Mon, 06 May 2024 07:08:09 \\+0000\\r\\nMessage-ID: <${f.msg.id}@[^>]+>\\r\\nMIME-Version: 1\\.0\\r\\n\\r\\nbody\\r\\n$`));
    const g = withMessage({ data: bytes('Subject: x\r\n\r\nbody\r\n') });
    await g.eval(`the_msg():check_fix_conformance('', 'MISSING_MESSAGE_ID_HEADER', { message_id = '<fixed@id>' })`);
    expect(text(g.msg.getData())).toContain('Message-ID: <fixed@id>\r\n');
  });

  it('fixes line endings, a space before the colon and drops a header with no colon', async () => {
    const f = withMessage({ data: bytes('Subject : x\nBogus\r\nX-Ok: y\r\n\nline1\nline2\r') });
    await f.eval(`the_msg():check_fix_conformance('', 'NON_CANONICAL_LINE_ENDINGS|NAME_ENDS_WITH_SPACE|MISSING_COLON_VALUE')`);
    expect(text(f.msg.getData())).toBe('Subject: x\r\nX-Ok: y\r\n\r\nline1\r\nline2\r\n');
  });

  it('quoted-printable encodes an 8-bit text body and keeps its bytes', async () => {
    const body = Buffer.from('caf\u00e9 \u2603\r\n', 'utf8');
    const data = Buffer.concat([Buffer.from(GOOD.split('\r\n\r\n')[0] + '\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'), body]);
    const f = withMessage({ data: new Uint8Array(data) });
    await f.eval(`the_msg():check_fix_conformance('', 'NEEDS_TRANSFER_ENCODING')`);
    const out = text(f.msg.getData());
    expect(out).toContain('Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =E2=98=83\r\n');
    const encodedBody = out.split('\r\n\r\n')[1]!;
    expect(libqp.decode(encodedBody).equals(Buffer.from('caf\u00e9 \u2603\r\n'))).toBe(true);
    expect([...detectIssues(f.msg.getData())]).toEqual([]);
  });

  it('folds over-long headers and re-encodes over-long lines inside a multipart, leaving other parts alone', () => {
    const longWords = Array.from({ length: 250 }, (_, i) => `w${i}`).join(' ');
    const msg = [
      'Date: Mon, 01 Jan 2024 00:00:00 +0000',
      'Message-ID: <a@b>',
      'MIME-Version: 1.0',
      `X-Long: ${longWords}`,
      'Content-Type: multipart/alternative; boundary="BB"',
      '',
      'preamble',
      '--BB',
      'Content-Type: text/plain',
      '',
      'x'.repeat(1200),
      '--BB',
      'Content-Type: text/html',
      '',
      '<p>fine</p>',
      '--BB--',
      '',
    ].join('\r\n');
    const outcome = checkFixConformance(bytes(msg), { checks: '', fixes: 'LINE_TOO_LONG', settings: null, nowMs: 0, messageId: 'id' });
    const out = text(outcome.data!);
    expect([...detectIssues(outcome.data!)]).toEqual([]);
    expect(out).toContain('\r\n--BB\r\nContent-Type: text/html\r\n\r\n<p>fine</p>\r\n--BB--\r\n');
    expect(out).toContain('Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nxxxx');
    const xHeader = out.slice(out.indexOf('X-Long:'), out.indexOf('Content-Type: multipart'));
    expect(xHeader.replace(/\r\n /g, ' ')).toBe(`X-Long: ${longWords}\r\n`);
  });

  it('base64 encodes an 8-bit non-text body byte for byte', () => {
    const head = GOOD.split('\r\n\r\n')[0] + '\r\nContent-Type: application/octet-stream\r\n\r\n';
    const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256));
    const outcome = checkFixConformance(new Uint8Array(Buffer.concat([Buffer.from(head), payload])), { checks: '', fixes: 'NEEDS_TRANSFER_ENCODING', settings: null, nowMs: 0, messageId: 'id' });
    const out = text(outcome.data!);
    expect(out).toContain('Content-Transfer-Encoding: base64\r\n\r\n');
    const b64 = out.split('\r\n\r\n')[1]!;
    for (const line of b64.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(Buffer.from(b64.replace(/\r\n/g, ''), 'base64').equals(payload)).toBe(true);
  });
});
