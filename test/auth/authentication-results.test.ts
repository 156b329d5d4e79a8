import { describe, expect, it } from 'vitest';
import { authenticationResultsHeader, parseAuthenticationResult, parseAuthenticationResults } from '../../src/auth/authentication-results.ts';

describe('Authentication-Results header', () => {
  it('no results is "<serv_id>; none"', () => {
    expect(authenticationResultsHeader('mx.test', [])).toBe('Authentication-Results: mx.test; none\r\n');
  });

  it('one line per result and per prop (sorted), CRLF TAB continued; non-tokens quoted', () => {
    const header = authenticationResultsHeader('mx.test', [
      { method: 'dkim', result: 'pass', props: { 'header.s': 's1', 'header.d': 'example.com', 'header.i': '@example.com' } },
      { method: 'spf', method_version: 1, result: 'fail', reason: 'matched all', props: {} },
    ]);
    expect(header).toBe(
      'Authentication-Results: mx.test;\r\n\tdkim=pass\r\n\theader.d=example.com\r\n\theader.i="@example.com"\r\n\theader.s=s1;\r\n\tspf/1=fail reason="matched all"\r\n',
    );
  });
});

describe('AuthenticationResult from Lua', () => {
  it('is strict: unknown keys, missing method/result and non-string props raise', () => {
    expect(parseAuthenticationResult({ method: 'dkim', result: 'pass' })).toEqual({ method: 'dkim', result: 'pass', props: {} });
    expect(() => parseAuthenticationResult({ method: 'dkim', result: 'pass', extra: 'x' })).toThrow(/unknown field `extra`/);
    expect(() => parseAuthenticationResult({ method: 'dkim' })).toThrow(/missing field `result`/);
    expect(() => parseAuthenticationResult({ method: 'dkim', result: 'pass', props: { a: 1 } })).toThrow(/props `a`/);
    expect(() => parseAuthenticationResult({ method: 'dkim', result: 'pass', method_version: 1.5 })).toThrow(/method_version/);
    expect(parseAuthenticationResults({})).toEqual([]);
  });
});
