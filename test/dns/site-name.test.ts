import { describe, expect, it } from 'vitest';
import { siteName } from '../../src/dns/site-name.ts';

describe('siteName (smtp-delivery §1.5)', () => {
  it.each([
    [['mx1.a.test.', 'mx2.a.test.'], '(mx1|mx2).a.test'],
    [['a.mx.example.org.', 'b.mx.example.org.'], '(a|b).mx.example.org'],
    [['mx.example.org.', 'backup.mx.example.org.'], 'backup?.mx.example.org'],
    [['in.relay.test.', 'alt.in.relay.test.'], 'alt?.in.relay.test'],
    [['inbound.mail.example.net.', 'inbound.mail.example.com.'], 'inbound.mail.example.(net|com)'],
    [['mx.example.org.:2525'], 'mx.example.org:2525'],
    [['MX.Example.ORG.'], 'mx.example.org'],
    [['.'], ''],
  ])('%j ⇒ %s', (hosts, expected) => {
    expect(siteName(hosts)).toBe(expected);
  });
});
