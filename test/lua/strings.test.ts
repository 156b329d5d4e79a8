import { describe, expect, it } from 'vitest';
import { decodeUtf8Strict, encodeText } from '../../src/lua/strings.ts';

describe('decodeUtf8Strict', () => {
  it('decodes short and long ASCII, long UTF-8, and refuses invalid bytes at any position', () => {
    const long = 'a"b\\c\u0000'.repeat(40);
    expect(decodeUtf8Strict(encodeText('short'))).toBe('short');
    expect(decodeUtf8Strict(encodeText(long))).toBe(long);
    expect(decodeUtf8Strict(encodeText(long + 'é✓𝄞'))).toBe(long + 'é✓𝄞');
    const bad = encodeText(long + 'x');
    bad[150] = 0xff;
    expect(decodeUtf8Strict(bad)).toBeUndefined();
    expect(decodeUtf8Strict(Uint8Array.of(0x41, 0xc3))).toBeUndefined();
    expect(decodeUtf8Strict(Uint8Array.of(0xef, 0xbb, 0xbf, 0x41))).toBe('\ufeffA');
  });
});
