import { describe, expect, it } from 'vitest';
import { pslDomain, pslSuffix } from '../../../src/kumo/support/psl.ts';

describe('Public Suffix List look-ups', () => {
  it('gives the registrable domain and the suffix', () => {
    expect(pslDomain('www.example.com')).toBe('example.com');
    expect(pslSuffix('www.example.com')).toBe('com');
    expect(pslDomain('a.b.example.co.uk')).toBe('example.co.uk');
    expect(pslSuffix('a.b.example.co.uk')).toBe('co.uk');
  });
  it('gives no domain for a bare suffix', () => {
    expect(pslDomain('com')).toBeNull();
    expect(pslDomain('co.uk')).toBeNull();
    expect(pslSuffix('co.uk')).toBe('co.uk');
  });
  it('applies the default * rule to an unlisted TLD', () => {
    expect(pslDomain('a.b.zzz')).toBe('b.zzz');
    expect(pslSuffix('a.b.zzz')).toBe('zzz');
  });
  it('counts the private section', () => {
    expect(pslDomain('foo.blogspot.com')).toBe('foo.blogspot.com');
    expect(pslDomain('blogspot.com')).toBeNull();
  });
  it('drops exactly one trailing dot and lowercases ASCII', () => {
    expect(pslDomain('WWW.Example.COM.')).toBe('example.com');
    expect(pslDomain('example.com..')).toBeNull();
    expect(pslSuffix('example.com..')).toBeNull();
  });
  it('gives nil for empty names and empty labels', () => {
    expect(pslDomain('')).toBeNull();
    expect(pslSuffix('.')).toBeNull();
    expect(pslDomain('a..com')).toBeNull();
  });
});
