import { describe, expect, it } from 'vitest';
import { evalLua } from '../helpers/lua.ts';

const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);
const KEY128 = `{ key = { key_data = kumo.encode.hex_decode('000102030405060708090a0b0c0d0e0f') } }`;

describe('kumo.crypto AES', () => {
  it('matches the FIPS-197 AES-128 vector in ECB (first block) with PKCS#7 padding', async () => {
    expect(await evalLua(`local c = kumo.crypto.aes_encrypt_block('Ecb', kumo.encode.hex_decode('00112233445566778899aabbccddeeff'), ${KEY128})
      return { type(c), #c, kumo.encode.hex_encode(c:sub(1, 16)) }`)).toEqual(['string', 32, '69c4e0d86a7b0430d8cdb78070b4c55a']);
  });
  it('round-trips ECB and CBC; CBC carries a random IV prefix', async () => {
    expect(await evalLua(`local k = { key = { key_data = string.rep('k', 32) } }
      local e = kumo.crypto.aes_encrypt_block('Ecb', 'hello', k)
      local c1 = kumo.crypto.aes_encrypt_block('Cbc', 'hello', k)
      local c2 = kumo.crypto.aes_encrypt_block('Cbc', 'hello', k)
      return { #e, #c1, c1 ~= c2, kumo.crypto.aes_decrypt_block('Ecb', e, k).bytes, kumo.crypto.aes_decrypt_block('Cbc', c1, k).bytes }`)).toEqual([16, 32, true, 'hello', 'hello']);
  });
  it('checks key length, mode names, IV length and padding', async () => {
    expect(await err(`kumo.crypto.aes_encrypt_block('Ecb', 'x', { key = { key_data = 'short' } })`)).toBe('Key length must be 16 or 32 bytes');
    expect(await err(`kumo.crypto.aes_encrypt_block('ecb', 'x', { key = { key_data = string.rep('k', 16) } })`)).toMatch(/Ecb/);
    expect(await err(`kumo.crypto.aes_decrypt_block('Cbc', 'short', { key = { key_data = string.rep('k', 16) } })`)).toBe('ciphertext must be prefixed by iv with len at least 16');
    expect(await err(`kumo.crypto.aes_decrypt_block('Ecb', string.rep('x', 16), { key = { key_data = string.rep('k', 16) } })`)).toMatch(/^Decryption failed with AES ECB mode: /);
    expect(await err(`kumo.crypto.aes_encrypt_block('Ecb', 'x', {})`)).toMatch(/^deserialize error: missing field `key`/);
  });
});

describe('kumo.crypto.aws_sign_v4', () => {
  // AWS's published example (IAM ListUsers, GET, us-east-1, 2015-08-30T12:36:00Z).
  const params = `{
    access_key = { key_data = 'AKIDEXAMPLE' },
    secret_key = { key_data = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    region = 'us-east-1', service = 'iam', method = 'GET', uri = '/',
    query_params = { Action = 'ListUsers', Version = '2010-05-08' },
    headers = { Host = 'iam.amazonaws.com', ['Content-Type'] = 'application/x-www-form-urlencoded; charset=utf-8' },
    timestamp = '2015-08-30T12:36:00Z',
  }`;
  it('reproduces the AWS documentation example', async () => {
    expect(await evalLua(`local r = kumo.crypto.aws_sign_v4(${params}) return { r.timestamp, r.signature, r.authorization, r.canonical_request }`)).toEqual([
      '20150830T123600Z',
      '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
      'GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    ]);
  });
  it('requires host and the mandatory fields', async () => {
    expect(await err(`kumo.crypto.aws_sign_v4({ access_key = { key_data = 'a' }, secret_key = { key_data = 'b' }, region = 'r', service = 's', method = 'GET', uri = '/', headers = {} })`)).toBe("headers must include 'host'");
    expect(await err(`kumo.crypto.aws_sign_v4({ access_key = { key_data = 'a' }, secret_key = { key_data = 'b' }, service = 's', method = 'GET', uri = '/' })`)).toMatch(/^deserialize error: missing field `region`, while processing /);
  });
  it('adds x-amz-content-sha256 for s3 and encodes URI segments', async () => {
    expect(await evalLua(`local r = kumo.crypto.aws_sign_v4({ access_key = { key_data = 'a' }, secret_key = { key_data = 'b' }, region = 'r', service = 's3', method = 'PUT', uri = '/my bucket/a+b~c', headers = { host = 'h' }, timestamp = '2020-01-01T00:00:00Z' })
      return r.canonical_request:match('^PUT\\n([^\\n]*)') .. '|' .. tostring(r.canonical_request:find('x%-amz%-content%-sha256:') ~= nil)`)).toBe('/my%20bucket/a%2Bb~c|true');
  });
});
