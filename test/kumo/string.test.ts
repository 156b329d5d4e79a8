import { describe, expect, it } from 'vitest';
import { evalLua } from '../helpers/lua.ts';

const run = (code: string) => evalLua(`return ${code}`);
const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);
const S = 'kumo.string';

describe('kumo.string splitting (Rust semantics)', () => {
  it('split keeps empty pieces; empty separator yields empty ends', async () => {
    expect(await run(`${S}.split('a,,b', ',')`)).toEqual(['a', '', 'b']);
    expect(await run(`${S}.split('', ',')`)).toEqual(['']);
    expect(await run(`${S}.split('ab', '')`)).toEqual(['', 'a', 'b', '']);
  });
  it('splitn takes the limit second and leaves the remainder in the last piece', async () => {
    expect(await run(`${S}.splitn('a b c d', 2, ' ')`)).toEqual(['a', 'b c d']);
    expect(await run(`kumo.serde.json_encode(${S}.splitn('a b', 0, ' '))`)).toBe('{}');
    expect(await run(`${S}.splitn('a b', 5, ' ')`)).toEqual(['a', 'b']);
  });
  it('rsplit and rsplitn work from the right', async () => {
    expect(await run(`${S}.rsplit('a,b,c', ',')`)).toEqual(['c', 'b', 'a']);
    expect(await run(`${S}.rsplitn('Mary had a little lamb', 3, ' ')`)).toEqual(['lamb', 'little', 'Mary had a']);
  });
  it('split_whitespace uses Unicode White_Space, ascii variant excludes \\v', async () => {
    expect(await run(`${S}.split_whitespace(' a\\u{3000}b \\u{85}c ')`)).toEqual(['a', 'b', 'c']);
    expect(await run(`kumo.serde.json_encode(${S}.split_whitespace(''))`)).toBe('{}');
    expect(await run(`${S}.split_ascii_whitespace('a\\vb c\\t\\r\\nd')`)).toEqual(['a\vb', 'c', 'd']);
  });
  it('returns lists without the array marker', async () => {
    expect(await run(`getmetatable(${S}.split('a', ',')) == nil`)).toBe(true);
  });
});

describe('kumo.string replace/trim/starts_with/wrap', () => {
  it('replaces literally, every match or the first n', async () => {
    expect(await run(`${S}.replace('a.b.c', '.', '-')`)).toBe('a-b-c');
    expect(await run(`${S}.replace('ab', '', '-')`)).toBe('-a-b-');
    expect(await run(`${S}.replacen('a.b.c', '.', '-', 1)`)).toBe('a-b.c');
    expect(await run(`${S}.replace('aaa', 'aa', 'b')`)).toBe('ba');
  });
  it('converts numbers to text and rejects tables', async () => {
    expect(await run(`${S}.replace(15, 5, 'x')`)).toBe('1x');
    expect(await err(`${S}.replace({}, 'a', 'b')`)).toMatch(/bad argument #1/);
  });
  it('trims Unicode whitespace, including U+0085 but not U+FEFF', async () => {
    expect(await run(`${S}.trim('\\u{85}\\u{a0} x \\t')`)).toBe('x');
    // Compared inside Lua: the bridge's UTF-8 decoder drops a leading BOM on the way out.
    expect(await run(`${S}.trim('\\u{feff}x ') == '\\u{feff}x'`)).toBe(true);
    expect(await run(`${S}.trim_start('  x  ')`)).toBe('x  ');
    expect(await run(`${S}.trim_end('  x  ')`)).toBe('  x');
  });
  it('compares prefixes and suffixes bytewise', async () => {
    expect(await run(`{ ${S}.starts_with('hello', 'he'), ${S}.starts_with('hello', ''), ${S}.ends_with('hello', 'lo'), ${S}.ends_with('lo', 'hello'), ${S}.starts_with('\\xff\\x01', '\\xff') }`)).toEqual([true, true, true, false, true]);
  });
  it('wraps like header folding', async () => {
    expect(await run(`${S}.wrap('hello')`)).toBe('hello');
    expect(await run(`${S}.wrap(string.rep('A', 200), 75, 100)`)).toBe(`${'A'.repeat(100)}\r\n\t${'A'.repeat(100)}`);
    expect(await run(`${S}.wrap('aaa bbb ccc', 8)`)).toBe('aaa bbb\r\n\tccc');
  });
  it('renders Jinja templates with escaping chosen by name', async () => {
    expect(await run(`${S}.eval_template('t.txt', 'Hi {{ name }}', { name = 'John' })`)).toBe('Hi John');
    expect(await run(`${S}.eval_template('t.json', '{{ name }}', { name = 'John' })`)).toBe('"John"');
    expect(await run(`${S}.eval_template('t.html', '{{ name }}', { name = '<b>' })`)).toBe('&lt;b&gt;');
    expect(await run(`${S}.eval_template('t', '{{ name }}', {}, 'Static')`)).toBe('{{ name }}');
  });
  it('renders Handlebars templates, HTML-escaping only HTML names', async () => {
    expect(await run(`${S}.eval_template('t.json', 'Hi {{name}}{{#each xs}},{{this}}{{/each}}', { name = 'John', xs = {1, 2} }, 'Handlebars')`)).toBe('Hi John,1,2');
    expect(await run(`${S}.eval_template('t.html', '{{name}}', { name = '<b>' }, 'Handlebars')`)).toBe('&lt;b&gt;');
    expect(await err(`${S}.eval_template('t', 'x', {}, 'Mustache')`)).toMatch(/unknown dialect Mustache/);
  });
  it('says clearly what is not provided', async () => {
    expect(await err(`${S}.normalize_smtp_response('x')`)).toMatch(/not provided by kumo-lua/);
  });
  it('looks names up in the Public Suffix List', async () => {
    expect(await run(`{ ${S}.psl_domain('www.Example.com.'), ${S}.psl_suffix('www.example.co.uk'), ${S}.psl_domain('a.b.zzz') }`)).toEqual(['example.com', 'co.uk', 'b.zzz']);
    expect(await run(`${S}.psl_domain('com') == nil and ${S}.psl_suffix('') == nil`)).toBe(true);
  });
});
