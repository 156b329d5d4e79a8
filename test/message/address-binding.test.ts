import { describe, expect, it } from 'vitest';
import { withMessage, bytes } from './lua-fixture.ts';
import { errorOf } from '../helpers/lua.ts';

function mail(headers: string) {
  return withMessage({ data: bytes(`${headers}Subject: x\r\n\r\nbody\r\n`) });
}

describe('msg:from_header / to_header / get_address_header', () => {
  it('without the header is nil', async () => {
    const f = mail('To: a@example.com\r\n');
    expect(await f.eval(`local m = the_msg(); return { m:from_header() == nil, m:get_address_header('Reply-To') == nil }`)).toEqual([true, true]);
  });

  it('one mailbox: user, domain, email, name (RFC 2047 decoded) and tostring', async () => {
    const f = mail('From: =?UTF-8?Q?J=C3=B6rg_M?= <Joerg.M@Example.COM>\r\nfrom: second@example.com\r\n');
    expect(await f.eval(`local h = the_msg():from_header(); return { h.user, h.domain, h.email, h.name, tostring(h) }`)).toEqual([
      'Joerg.M',
      'Example.COM',
      'Joerg.M@Example.COM',
      'Jörg M',
      '[{"Address":{"name":"Jörg M","address":"Joerg.M@Example.COM"}}]',
    ]);
    const g = mail('From: "john doe"@example.com\r\n');
    expect(await g.eval(`local h = the_msg():from_header(); return { h.user, h.email, h.name == nil }`)).toEqual(['john doe', '"john doe"@example.com', true]);
  });

  it('two addresses: .domain raises, .list has 2 Address entries', async () => {
    const f = mail('To: a@x.example, "Bee" <b@y.example>\r\n');
    expect(await errorOf(f.eval(`return the_msg():to_header().domain`))).toMatch(/To: is not a simple single address/);
    const g = mail('From: a@x.example, b@y.example\r\n');
    expect(await errorOf(g.eval(`return the_msg():from_header().domain`))).toMatch(/From: is not a simple single address/);
    expect(await g.eval(`return #the_msg():from_header().list`)).toBe(2);
    expect(await f.eval(`local l = the_msg():to_header().list; return { #l, l[1].email, l[2].name, l[2].domain, tostring(l[2]) }`)).toEqual([
      2,
      'a@x.example',
      'Bee',
      'y.example',
      '{"name":"Bee","address":"b@y.example"}',
    ]);
  });

  it('groups are flattened in list and refused as a single address; an empty list has no addresses', async () => {
    const f = mail('Cc: Team: a@x.example, b@y.example;\r\nBcc: undisclosed-recipients:;\r\n');
    expect(await f.eval(`local h = the_msg():get_address_header('cc'); return { #h.list, h.list[2].user, tostring(h) }`)).toEqual([
      2,
      'b',
      '[{"Group":{"name":"Team","entries":[{"name":null,"address":"a@x.example"},{"name":null,"address":"b@y.example"}]}}]',
    ]);
    expect(await errorOf(f.eval(`return the_msg():get_address_header('Cc').email`))).toMatch(/Cc: is not a simple address/);
    expect(await errorOf(f.eval(`return the_msg():get_address_header('Bcc').user`))).toMatch(/Bcc: is not a simple address/);
  });

  it('an empty list has no addresses', async () => {
    const f = mail('From: \r\n');
    expect(await errorOf(f.eval(`return the_msg():from_header().email`))).toMatch(/From: no addresses/);
  });

  it('an unparsable header raises', async () => {
    const f = mail('From: not an address\r\n');
    expect(await errorOf(f.eval(`return the_msg():from_header()`))).toMatch(/From: "not an address" is not a valid address/);
  });
});
