import { describe, expect, it } from 'vitest';
import { evalLua } from '../helpers/lua.ts';

const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);
const run = (code: string) => evalLua(`return ${code}`);

describe('kumo.encode codecs (RFC 4648 vectors)', () => {
  it('encodes', async () => {
    expect(await run(`kumo.encode.base64_encode('foobar')`)).toBe('Zm9vYmFy');
    expect(await run(`kumo.encode.base64_encode('fo')`)).toBe('Zm8=');
    expect(await run(`kumo.encode.base64_nopad_encode('fo')`)).toBe('Zm8');
    expect(await run(`kumo.encode.base64url_encode('\\xfb\\xff')`)).toBe('-_8=');
    expect(await run(`kumo.encode.base64url_nopad_encode('\\xfb\\xff')`)).toBe('-_8');
    expect(await run(`kumo.encode.base32_encode('f')`)).toBe('MY======');
    expect(await run(`kumo.encode.base32_encode('foobar')`)).toBe('MZXW6YTBOI======');
    expect(await run(`kumo.encode.base32_nopad_encode('fo')`)).toBe('MZXQ');
    expect(await run(`kumo.encode.base32hex_encode('foobar')`)).toBe('CPNMUOJ1E8======');
    expect(await run(`kumo.encode.base32hex_nopad_encode('f')`)).toBe('CO');
    expect(await run(`kumo.encode.hex_encode('\\0\\xab')`)).toBe('00ab');
  });
  it('round-trips binary data through every codec', async () => {
    expect(await run(`(function()
      local s = ''
      for i = 0, 255 do s = s .. string.char(i) end
      for _, c in ipairs({'base32','base32_nopad','base32hex','base32hex_nopad','base64','base64_nopad','base64url','base64url_nopad','hex'}) do
        if kumo.encode[c .. '_decode'](kumo.encode[c .. '_encode'](s)) ~= s then return c end
      end
      return 'ok' end)()`)).toBe('ok');
  });
  it('requires a string to encode', async () => {
    expect(await err(`kumo.encode.base64_encode(5)`)).toMatch(/^parameter must be a string/);
  });
  it('tolerates missing or extra padding in padded variants only', async () => {
    expect(await run(`{ kumo.encode.base64_decode('aGk'), kumo.encode.base64_decode('aGk='), kumo.encode.base64_decode('aGk==') }`)).toEqual(['hi', 'hi', 'hi']);
    expect(await err(`kumo.encode.base64_nopad_decode('aGk=')`)).toMatch(/^invalid (symbol|padding length) at 3/);
  });
  it('is strict about alphabet, whitespace, length, trailing bits and hex case', async () => {
    expect(await err(`kumo.encode.base64_decode('aG k')`)).toBe('invalid symbol at 2');
    expect(await err(`kumo.encode.base64_decode('-_8=')`)).toBe('invalid symbol at 0');
    expect(await err(`kumo.encode.base64url_decode('+/8=')`)).toBe('invalid symbol at 0');
    expect(await err(`kumo.encode.base64_decode('QR==')`)).toMatch(/^non-zero trailing bits at/);
    expect(await err(`kumo.encode.base64_decode('a')`)).toMatch(/^invalid length at/);
    expect(await err(`kumo.encode.hex_decode('AB')`)).toBe('invalid symbol at 0');
    expect(await err(`kumo.encode.hex_decode('abc')`)).toMatch(/^invalid length at/);
    expect(await err(`kumo.encode.base32_decode('my======')`)).toBe('invalid symbol at 0');
    expect(await run(`kumo.encode.hex_decode('6869')`)).toBe('hi');
  });
});

describe('kumo.encode charsets', () => {
  it('decodes with WHATWG labels; latin1 means windows-1252', async () => {
    expect(await run(`kumo.encode.charset_decode('iso-8859-1', '\\xa9')`)).toBe('©');
    expect(await run(`kumo.encode.charset_decode('latin1', '\\x80')`)).toBe('€');
    expect(await run(`kumo.encode.charset_decode('ISO-8859-2', '\\xa1')`)).toBe('Ą');
    expect(await run(`kumo.encode.charset_decode('shift_jis', '\\x82\\xa0')`)).toBe('あ');
  });
  it('treats ascii as strict 7-bit', async () => {
    expect(await run(`kumo.encode.charset_decode('us-ascii', 'abc')`)).toBe('abc');
    expect(await err(`kumo.encode.charset_decode('ascii', '\\xa9')`)).toMatch(/^input string did not decode from ascii bytes/);
  });
  it('rejects unknown charsets and malformed input', async () => {
    expect(await err(`kumo.encode.charset_decode('klingon', 'x')`)).toBe('unknown charset klingon');
    expect(await err(`kumo.encode.charset_decode('utf-8', '\\xff')`)).toMatch(/^input string did not decode from utf-8 bytes/);
  });
  it('encodes, with numeric character references for unmappable characters', async () => {
    expect(await run(`kumo.encode.charset_encode('iso-8859-1', '©') == '\\xa9'`)).toBe(true);
    expect(await run(`kumo.encode.charset_encode('latin1', '€') == '\\x80'`)).toBe(true);
    expect(await run(`kumo.encode.charset_encode('iso-8859-2', 'a€')`)).toBe('a&#8364;');
    expect(await err(`kumo.encode.charset_encode('iso-8859-2', 'a€', false)`)).toMatch(/^input string did not encode into iso-8859-2 bytes/);
    expect(await run(`kumo.encode.charset_encode('utf-16le', 'A') == 'A\\0'`)).toBe(true);
    expect(await run(`kumo.encode.charset_encode('utf-16be', 'A') == '\\0A'`)).toBe(true);
  });
});
