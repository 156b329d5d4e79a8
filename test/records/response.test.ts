import { describe, expect, it } from 'vitest';
import { ResponseParseError, foldLineBreaks, parseResponse, responseFromText } from '../../src/records/response.ts';

describe('parseResponse', () => {
  it('extracts code and enhanced code and strips the prefix from the content', () => {
    expect(parseResponse('550 5.1.1 no such user', 'RCPT TO:<x@y.example>')).toEqual({
      code: 550,
      enhanced_code: { class: 5, subject: 1, detail: 1 },
      content: 'no such user',
      command: 'RCPT TO:<x@y.example>',
    });
  });

  it('does not parse a line that is only the enhanced code', () => {
    expect(parseResponse('250 2.0.0')).toEqual({ code: 250, enhanced_code: null, content: '2.0.0', command: null });
  });

  it('parses the prefix when a space follows it even with nothing after', () => {
    expect(parseResponse('250 2.0.0 ')).toEqual({ code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: '', command: null });
  });

  it('only accepts classes 2, 4 and 5', () => {
    expect(parseResponse('550 3.1.1 odd').enhanced_code).toBeNull();
    expect(parseResponse('550 3.1.1 odd').content).toBe('3.1.1 odd');
    expect(parseResponse('421 4.4.2 timeout').enhanced_code).toEqual({ class: 4, subject: 4, detail: 2 });
    expect(parseResponse('550 5.7.26 unauthenticated').enhanced_code).toEqual({ class: 5, subject: 7, detail: 26 });
  });

  it('joins multi-line replies with spaces and removes the repeated prefix', () => {
    const r = parseResponse('550-5.7.1 first line\r\n550-5.7.1 second line\r\n550 5.7.1 third\r\n', '.\r\n');
    expect(r).toEqual({ code: 550, enhanced_code: { class: 5, subject: 7, detail: 1 }, content: 'first line second line third', command: '.\r\n' });
  });

  it('keeps a different prefix on continuation lines', () => {
    expect(parseResponse('250-2.0.0 a\n250 2.1.0 b').content).toBe('a 2.1.0 b');
  });

  it('accepts a bare code', () => {
    expect(parseResponse('354')).toEqual({ code: 354, enhanced_code: null, content: '', command: null });
  });

  it('rejects malformed replies', () => {
    expect(() => parseResponse('hello')).toThrow(ResponseParseError);
    expect(() => parseResponse('250-a\r\n251 b')).toThrow(/mixes codes/);
  });

  it('responseFromText folds kumo.reject style multi-line text', () => {
    expect(responseFromText(421, '4.3.0 try\nlater\r\nplease')).toEqual({
      code: 421,
      enhanced_code: { class: 4, subject: 3, detail: 0 },
      content: 'try later please',
      command: null,
    });
  });

  it('foldLineBreaks turns CRLF, CR and LF each into one space', () => {
    expect(foldLineBreaks('a\r\nb\rc\nd\n\ne')).toBe('a b c d  e');
    expect(foldLineBreaks('plain')).toBe('plain');
  });
});
