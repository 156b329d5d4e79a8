import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evalLua } from '../helpers/lua.ts';

const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);

describe('kumo.digest hashes', () => {
  it('matches FIPS known answers', async () => {
    expect(await evalLua(`return kumo.digest.sha256('abc').hex`)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await evalLua(`return kumo.digest.sha1('abc').hex`)).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    expect(await evalLua(`return kumo.digest.sha256().hex`)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(await evalLua(`return kumo.digest.sha3_256('').hex`)).toBe('a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a');
    expect(await evalLua(`return kumo.digest.sha512_256('abc').hex`)).toBe('53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23');
    expect(await evalLua(`return kumo.digest.sha224('abc').hex`)).toBe('23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7');
  });
  it('feeds every argument in order with no separator', async () => {
    expect(await evalLua(`return kumo.digest.sha256('a', 'b', 'c').hex == kumo.digest.sha256('abc').hex`)).toBe(true);
  });
  it('hashes non-strings as their JSON text (array marker respected)', async () => {
    expect(await evalLua(`return kumo.digest.sha256(1).hex == kumo.digest.sha256('1').hex`)).toBe(true);
    expect(await evalLua(`return kumo.digest.sha256(1.0).hex == kumo.digest.sha256('1.0').hex`)).toBe(true);
    expect(await evalLua(`return kumo.digest.sha256(nil).hex == kumo.digest.sha256('null').hex`)).toBe(true);
    expect(await evalLua(`return kumo.digest.sha256(true).hex == kumo.digest.sha256('true').hex`)).toBe(true);
    expect(await evalLua(`return kumo.digest.sha256({1,2}).hex == kumo.digest.sha256('[1,2]').hex`)).toBe(true);
    expect(await evalLua(`return kumo.digest.sha256(kumo.serde.json_parse('[]')).hex == kumo.digest.sha256('[]').hex`)).toBe(true);
    expect(await evalLua(`return kumo.digest.sha256({}).hex == kumo.digest.sha256('{}').hex`)).toBe(true);
  });
  it('computes crc32 as 4 big-endian bytes', async () => {
    expect(await evalLua(`return kumo.digest.crc32('something').hex`)).toBe('09da31fb');
    expect(await evalLua(`return #kumo.digest.crc32('').bytes`)).toBe(4);
  });
});

describe('BinaryResult', () => {
  it('exposes every encoding as a field and hex via tostring', async () => {
    expect(await evalLua(`local r = kumo.digest.sha1('abc')
      return { r.hex, tostring(r), r.base64, r.base64_nopad, r.base64url, r.base64url_nopad, #r.bytes, r.base32, r.base32_nopad, r.base32hex, r.base32hex_nopad }`)).toEqual([
      'a9993e364706816aba3e25717850c26c9cd0d89d',
      'a9993e364706816aba3e25717850c26c9cd0d89d',
      'qZk+NkcGgWq6PiVxeFDCbJzQ2J0=',
      'qZk+NkcGgWq6PiVxeFDCbJzQ2J0',
      'qZk-NkcGgWq6PiVxeFDCbJzQ2J0=',
      'qZk-NkcGgWq6PiVxeFDCbJzQ2J0',
      20,
      'VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5',
      'VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5',
      'L6CJSDI70Q0MLEHU4LONGK62DIED1M4T',
      'L6CJSDI70Q0MLEHU4LONGK62DIED1M4T',
    ]);
  });
  it('cannot be concatenated or JSON-encoded', async () => {
    expect(await err(`return 'x' .. kumo.digest.sha1('a')`)).toMatch(/attempt to concatenate/);
    expect(await err(`return kumo.serde.json_encode(kumo.digest.sha1('a'))`)).toMatch(/^cannot materialize_to_lua_value/);
  });
});

describe('kumo.digest HMAC', () => {
  it('matches the spec vectors for key "your key"', async () => {
    expect(await evalLua(`local k = { key_data = 'your key' }
      return { kumo.digest.hmac_sha1(k, 'your message').hex, kumo.digest.hmac_sha256(k, 'your message').hex,
               kumo.digest.hmac_sha256(k, 'your message').base64, kumo.digest.hmac_sha384(k, 'your message').hex }`)).toEqual([
      '317d0dfd868a5c06c9444ac1328aa3e2bfd29fb2',
      '87fc1cec5c02f0991ae80f50e98eb2eb5213d07fc40417682a74448ac1deb07c',
      'h/wc7FwC8Jka6A9Q6Y6y61IT0H/EBBdoKnREisHesHw=',
      'cd274957b95ce192d41dd52f83fd2eb9277aa2fa210ec798ee16e978801a89b7e7b956af3976d1a50a60ece87c7b2a66',
    ]);
  });
  it('matches RFC 4231 test cases 1 and 2', async () => {
    expect(await evalLua(`return kumo.digest.hmac_sha256({ key_data = string.rep('\\x0b', 20) }, 'Hi There').hex`)).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(await evalLua(`return kumo.digest.hmac_sha256({ key_data = 'Jefe' }, 'what do ya want for nothing?').hex`)).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(await evalLua(`return kumo.digest.hmac_sha512({ key_data = 'Jefe' }, 'what do ya want for nothing?').hex`)).toBe(
      '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    );
  });
  it('accepts key_data as an array of byte numbers', async () => {
    expect(await evalLua(`return kumo.digest.hmac_sha256({ key_data = { 74, 101, 102, 101 } }, 'what do ya want for nothing?').hex`)).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
  it('reads a bare string key as a file path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kumo-digest-'));
    const file = path.join(dir, 'key');
    writeFileSync(file, 'Jefe');
    expect(await evalLua(`return kumo.digest.hmac_sha256(${JSON.stringify(file)}, 'what do ya want for nothing?').hex`)).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(await err(`kumo.digest.hmac_sha256('mysecret', 'body')`)).toBe('KeySource failed to load data from file `mysecret`: No such file or directory (os error 2)');
  });
  it('rejects values that are no KeySource', async () => {
    expect(await err(`kumo.digest.hmac_sha256({ nope = 1 }, 'body')`)).toBe('data did not match any variant of untagged enum KeySource, while processing {"nope":1}');
    expect(await err(`kumo.digest.hmac_sha256(42, 'body')`)).toMatch(/^data did not match any variant of untagged enum KeySource, while processing 42/);
  });
  it('explains that Vault is not available', async () => {
    expect(await err(`kumo.digest.hmac_sha256({ vault_mount = 'secret', vault_path = 'k' }, 'body')`)).toMatch(/Vault.*not provided by kumo-lua/);
  });
  it('has no sha512_256 or sha3 HMAC', async () => {
    expect(await evalLua(`return kumo.digest.hmac_sha512_256 == nil and kumo.digest.hmac_sha3_256 == nil`)).toBe(true);
  });
});
