import { describe, expect, it } from 'vitest';
import { CompiledCapture, parseHeaderGroups } from '../../src/records/capture.ts';

const enc = (s: string) => Buffer.from(s);

describe('meta capture (lua-api.md §4.1)', () => {
  const source = { tenant: 'acme', campaign: null, 'x-a': 1, 'x-b': null, 'X-c': 2, other: { k: 'v' } };

  it('exact names skip missing and null values', () => {
    expect(new CompiledCapture({ meta: ['tenant', 'campaign', 'absent'], headers: [] }).captureMeta(source)).toEqual({ tenant: 'acme' });
  });

  it('prefix patterns are case-sensitive and keep null values', () => {
    expect(new CompiledCapture({ meta: ['x-*'], headers: [] }).captureMeta(source)).toEqual({ 'x-a': 1, 'x-b': null });
    expect(Object.keys(new CompiledCapture({ meta: ['*'], headers: [] }).captureMeta(source))).toEqual(Object.keys(source));
  });
});

describe('header capture (lua-api.md §4.2)', () => {
  const data = enc(
    [
      'Subject: =?UTF-8?Q?caf=C3=A9?= time',
      'X-Campaign-Id: summer24',
      'x-mailer: kumo',
      'Received: one',
      'X-Folded: first',
      '\tsecond',
      'received: two',
      'x-campaign-id: again',
      '',
      'X-Body: not a header',
      '',
    ].join('\r\n'),
  );
  const groups = parseHeaderGroups(data);

  it('groups by lower-cased name, keeps the first spelling, unfolds and decodes', () => {
    expect(groups.map((g) => g.name)).toEqual(['Subject', 'X-Campaign-Id', 'x-mailer', 'Received', 'X-Folded']);
    expect(groups[0]!.values).toEqual(['café time']);
    expect(groups[4]!.values).toEqual(['first\tsecond']);
  });

  it('matches exact names case-insensitively and stores several occurrences as an array', () => {
    const c = new CompiledCapture({ meta: [], headers: ['subject', 'RECEIVED', 'Missing'] });
    expect(c.captureHeaders(groups)).toEqual({ Subject: 'café time', Received: ['one', 'two'] });
  });

  it('prefix patterns are case-insensitive and overlapping patterns capture a group once', () => {
    const c = new CompiledCapture({ meta: [], headers: ['X-*', 'x-campaign-id', 'x-m*'] });
    const out = c.captureHeaders(groups);
    expect(out).toEqual({ 'X-Campaign-Id': ['summer24', 'again'], 'x-mailer': 'kumo', 'X-Folded': 'first\tsecond' });
    expect(Object.keys(out)).toEqual(['X-Campaign-Id', 'x-mailer', 'X-Folded']);
  });

  it('stops at the first empty line and accepts bare LF line ends', () => {
    const g = parseHeaderGroups(enc('A: 1\nB: 2\n\nC: 3\n'));
    expect(g.map((x) => x.name)).toEqual(['A', 'B']);
  });

  it('replaces invalid UTF-8 instead of failing', () => {
    const g = parseHeaderGroups(new Uint8Array([0x41, 0x3a, 0x20, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]));
    expect(g[0]!.values[0]).toBe('\uFFFD');
  });
});
