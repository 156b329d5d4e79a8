import { describe, expect, it } from 'vitest';
import { mxAnswer, siteNameOf } from '../../src/shaping/mx.ts';
import { isDnsName } from '../../src/shaping/data.ts';

describe('shaping MX helpers', () => {
  it('site names follow KumoMTA: alternatives in parentheses, ? for a missing label', () => {
    expect(siteNameOf(['mx1.mail.test.', 'mx2.mail.test.'])).toBe('(mx1|mx2).mail.test');
    expect(siteNameOf(['in.relay.test.', 'alt.in.relay.test.'])).toBe('alt?.in.relay.test');
    expect(siteNameOf(['mx.example.com.'])).toBe('mx.example.com');
    expect(siteNameOf(['mx.a.test:2525'])).toBe('mx.a.test');
  });

  it('orders hosts by preference then name; no records is the implicit MX; "." is a null MX', () => {
    expect(mxAnswer([{ exchange: 'B.test', priority: 10 }, { exchange: 'a.test', priority: 10 }, { exchange: 'c.test', priority: 5 }], 'x.test').hosts).toEqual(['c.test', 'a.test', 'b.test']);
    expect(mxAnswer([], 'Example.COM')).toEqual({ hosts: ['example.com'], siteName: 'example.com' });
    expect(mxAnswer([{ exchange: '.', priority: 0 }], 'n.test').hosts).toEqual(['.']);
  });

  it('only DNS names are tried against provider rules', () => {
    expect(isDnsName('mail.example.com')).toBe(true);
    expect(isDnsName('(mx1|mx2).mail.test')).toBe(false);
    expect(isDnsName('')).toBe(false);
  });
});
