import { describe, expect, it } from 'vitest';
import { parseHostsFile } from '../../src/dns/hosts-file.ts';

describe('parseHostsFile', () => {
  it('maps names (case-insensitively, as FQDNs) to their v4 and v6 addresses; localhost is always there', () => {
    const table = parseHostsFile('# comment\n192.0.2.1 Mail.Example mail2.example # trailing\n2001:db8::1 mail.example\nbogus line\n');
    expect(table.get('mail.example.')).toEqual({ A: ['192.0.2.1'], AAAA: ['2001:db8::1'] });
    expect(table.get('mail2.example.')).toEqual({ A: ['192.0.2.1'], AAAA: [] });
    expect(table.get('localhost.')).toEqual({ A: ['127.0.0.1'], AAAA: ['::1'] });
    expect(table.has('line.')).toBe(false);
  });
});
