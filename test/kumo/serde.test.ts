import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evalLua } from '../helpers/lua.ts';

const enc = (expr: string) => evalLua(`return kumo.serde.json_encode(${expr})`);
const pretty = (expr: string) => evalLua(`return kumo.serde.json_encode_pretty(${expr})`);
const err = (code: string) => evalLua(`local ok, e = pcall(function() ${code} end); assert(not ok, 'expected an error'); return tostring(e)`);

describe('kumo.serde.json_encode (lua-api §14.1, clients §6.1)', () => {
  it('encodes scalars', async () => {
    expect(await enc('nil')).toBe('null');
    expect(await enc('true')).toBe('true');
    expect(await enc('false')).toBe('false');
    expect(await enc('1')).toBe('1');
    expect(await enc('-42')).toBe('-42');
    expect(await enc('"hi"')).toBe('"hi"');
  });
  it('keeps the fraction of integral floats and formats floats like serde_json', async () => {
    expect(await enc('1.0')).toBe('1.0');
    expect(await enc('10/2')).toBe('5.0');
    expect(await enc('0.1')).toBe('0.1');
    expect(await enc('0.00001')).toBe('0.00001');
    expect(await enc('123456.5')).toBe('123456.5');
    expect(await enc('2^31 - 1.0')).toBe('2147483647.0');
    expect(await enc('-0.0')).toBe('-0.0');
    expect(await enc('1.5e-7')).toBe('1.5e-7');
    expect(await enc('1e-6')).toBe('1e-6');
  });
  it('turns NaN and infinities into null', async () => {
    expect(await enc('0/0')).toBe('null');
    expect(await enc('1/0')).toBe('null');
    expect(await enc('-1/0')).toBe('null');
  });
  it('prints integral floats as floats and integers up to 2^53 as integers', async () => {
    expect(await enc('2^40')).toBe('1099511627776.0');
    expect(await enc('1e15')).toBe('1000000000000000.0');
    expect(await enc('1722790000 * 1000')).toBe('1722790000000');
    expect(await enc('math.maxinteger')).toBe('9007199254740991');
  });
  it('prints integral floats beyond the VM integers (2^53) and below 2^63 as integers (clients.md §0.6 port note: they stand for 64-bit integers)', async () => {
    expect(await enc('2^53')).toBe('9007199254740992');
    expect(await enc('1e16')).toBe('10000000000000000');
    expect(await enc('2^63')).toBe('9.223372036854776e+18');
  });
  it('escapes strings like serde_json', async () => {
    expect(await enc(`'a"b\\\\c\\b\\f\\n\\r\\t'`)).toBe('"a\\"b\\\\c\\b\\f\\n\\r\\t"');
    expect(await enc(`'\\1\\31'`)).toBe('"\\u0001\\u001f"');
    expect(await enc(`'/\\127é'`)).toBe('"/\u007fé"');
  });
  it('encodes a string that is not UTF-8 as an array of bytes', async () => {
    expect(await enc(`'\\xff\\x01'`)).toBe('[255,1]');
    expect(await enc(`'\\xff\\0'`)).toBe('[255,0]');
  });
  it('chooses array or object by raw length', async () => {
    expect(await enc('{}')).toBe('{}');
    expect(await enc('{1,2,3}')).toBe('[1,2,3]');
    expect(await enc('{1,2,x=3}')).toBe('[1,2]');
    expect(await enc(`{[10]='a'}`)).toBe('{"10":"a"}');
    expect(await enc(`{[5]='a'}`)).toBe('{"5":"a"}');
    expect(await enc(`{a={b={}}}`)).toBe('{"a":{"b":{}}}');
  });
  it('drops the array marker: empty arrays from json_parse re-encode as {}', async () => {
    expect(await enc(`kumo.serde.json_parse('[]')`)).toBe('{}');
    expect(await enc(`kumo.serde.json_parse('{"a":[]}')`)).toBe('{"a":{}}');
    expect(await enc(`kumo.serde.json_parse('[1,2]')`)).toBe('[1,2]');
  });
  it('converts float, integer and boolean keys to text', async () => {
    expect(await enc(`{[1.5]='x'}`)).toBe('{"1.5":"x"}');
    expect(await enc(`{[true]=1}`)).toBe('{"true":1}');
    expect(await enc(`{[false]=1}`)).toBe('{"false":1}');
  });
  it('ignores metatables and __pairs on tables', async () => {
    expect(await enc(`setmetatable({a=1}, {__pairs=function() error('no') end})`)).toBe('{"a":1}');
  });
  it('encodes non-empty parsed arrays nested in tables as arrays', async () => {
    expect(await enc(`{1, kumo.serde.json_parse('[1]')}`)).toBe('[1,[1]]');
  });
  it('raises for functions, bad keys, recursion and userdata without __pairs', async () => {
    expect(await err(`kumo.serde.json_encode(print)`)).toMatch(/^cannot serialize <function>/);
    expect(await err(`kumo.serde.json_encode({f=coroutine.create(print)})`)).toMatch(/^cannot serialize <thread>/);
    expect(await err(`kumo.serde.json_encode({[0/0 + 0]=1})`)).toMatch(/./);
    expect(await err(`kumo.serde.json_encode({[1/0]=1})`)).toMatch(/^float key must be finite \(got NaN or \+\/-inf\)/);
    expect(await err(`kumo.serde.json_encode({['\\xff']=1})`)).toMatch(/^key must be a string/);
    expect(await err(`local t = {}; t.t = t; kumo.serde.json_encode(t)`)).toMatch(/^recursive table detected/);
    expect(await err(`kumo.serde.json_encode(kumo.digest.sha1('x'))`)).toMatch(/^cannot materialize_to_lua_value.*because it has no __pairs metamethod/);
  });
  it('is also available as kumo.json_encode and the other legacy aliases', async () => {
    expect(await evalLua(`return kumo.json_encode == kumo.serde.json_encode and kumo.json_parse == kumo.serde.json_parse
      and kumo.json_load == kumo.serde.json_load and kumo.json_encode_pretty == kumo.serde.json_encode_pretty
      and kumo.toml_load == kumo.serde.toml_load and kumo.toml_parse == kumo.serde.toml_parse
      and kumo.toml_encode == kumo.serde.toml_encode and kumo.toml_encode_pretty == kumo.serde.toml_encode_pretty
      and kumo.yaml_parse == nil and kumo.toml_encode_pretty_compact == nil`)).toBe(true);
  });
});

describe('kumo.serde.json_encode_pretty', () => {
  it('sorts keys bytewise with 2-space indent and inline empties, no trailing newline', async () => {
    expect(await pretty(`{b=1, a={}, c={1, 2.0}, d=kumo.serde.json_parse('[]')}`)).toBe(
      '{\n  "a": {},\n  "b": 1,\n  "c": [\n    1,\n    2.0\n  ],\n  "d": {}\n}',
    );
    expect(await pretty(`{['10']=1, ['9']=2, Z=3, a=4}`)).toBe('{\n  "10": 1,\n  "9": 2,\n  "Z": 3,\n  "a": 4\n}');
  });
  it('orders keys by UTF-8 bytes, not UTF-16 units', async () => {
    // U+FF5E (EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in UTF-8, after it in UTF-16.
    expect(await pretty(`{['\\u{1F600}']=1, ['\\u{FF5E}']=2}`)).toBe('{\n  "\uFF5E": 2,\n  "\u{1F600}": 1\n}');
  });
  it('prints scalars the same as json_encode', async () => {
    expect(await pretty('{}')).toBe('{}');
    expect(await pretty('1.0')).toBe('1.0');
  });
});

describe('kumo.serde.json_parse', () => {
  it('maps JSON to Lua per §14.2', async () => {
    expect(await evalLua(`local t = kumo.serde.json_parse('{"a":1,"b":1.0,"c":"x","d":true,"e":null,"f":[1,null,3]}')
      return { math.type(t.a), math.type(t.b), t.c, t.d, t.e == nil, t.f[1], t.f[2] == nil, t.f[3] }`)).toEqual(['integer', 'float', 'x', true, true, 1, true, 3]);
  });
  it('gives arrays the protected array marker and objects no metatable', async () => {
    expect(await evalLua(`local t = kumo.serde.json_parse('{"a":[]}')
      return { getmetatable(t.a) == false, getmetatable(t) == nil, (pcall(setmetatable, t.a, {})) }`)).toEqual([true, true, false]);
  });
  it('reads -0 as a float, integers up to 2^53 as integers and larger ones as floats', async () => {
    expect(await evalLua(`local v = kumo.serde.json_parse('-0'); return math.type(v) .. ' ' .. tostring(1/v < 0)`)).toBe('float true');
    expect(await evalLua(`return math.type(kumo.serde.json_parse('12345678901'))`)).toBe('integer');
    expect(await evalLua(`return kumo.serde.json_parse('12345678901') * 1000`)).toBe(12345678901000);
    expect(await evalLua(`return math.type(kumo.serde.json_parse('123456789012345678'))`)).toBe('float');
    expect(await evalLua(`return kumo.serde.json_encode(kumo.serde.json_parse('123456789012345678'))`)).toBe('123456789012345680');
  });
  it('returns nil for a top-level null', async () => {
    expect(await evalLua(`return kumo.serde.json_parse('null') == nil`)).toBe(true);
  });
  it('strips /* */, // and # comments outside strings', async () => {
    expect(await evalLua(`return kumo.serde.json_encode(kumo.serde.json_parse('{ /* c */ "a": "x//y#z", // line\\n "b": 1 # hash\\n}'))`)).toBe('{"a":"x//y#z","b":1}');
  });
  it('is strict JSON with serde_json style errors that quote the input', async () => {
    expect(await err(`kumo.serde.json_parse('x')`)).toMatch(/^parsing x as json: expected value at line 1 column 1/);
    expect(await err(`kumo.serde.json_parse('123 4')`)).toMatch(/^parsing 123 4 as json: trailing characters at line 1 column 5/);
    expect(await err(`kumo.serde.json_parse('{"a":1,')`)).toMatch(/^parsing \{"a":1, as json: EOF while parsing an object at line 1 column 7/);
    expect(await err(`kumo.serde.json_parse('[1,]')`)).toMatch(/^parsing \[1,\] as json: trailing comma/);
    expect(await err(`kumo.serde.json_parse('NaN')`)).toMatch(/^parsing NaN as json/);
    expect(await err(`kumo.serde.json_parse("'a'")`)).toMatch(/^parsing 'a' as json/);
    expect(await err(`kumo.serde.json_parse('"\\\\ud800"')`)).toMatch(/as json: .*(surrogate|hex escape)/);
    expect(await err(`kumo.serde.json_parse('"a\\tb"')`)).toMatch(/as json: control character/);
    expect(await err(`kumo.serde.json_parse(string.rep('[', 129) .. string.rep(']', 129))`)).toMatch(/recursion limit exceeded/);
    expect(await err(`kumo.serde.json_parse('1 / 2')`)).toMatch(/^parsing 1 \/ 2 as json/);
    expect(await err(`kumo.serde.json_parse('/* open')`)).toMatch(/^parsing \/\* open as json/);
  });
  it('accepts 128 levels of nesting', async () => {
    expect(await evalLua(`return type(kumo.serde.json_parse(string.rep('[', 128) .. string.rep(']', 128)))`)).toBe('table');
  });
  it('rejects text that is not UTF-8', async () => {
    expect(await err(`kumo.serde.json_parse('"\\xff"')`)).toMatch(/bad argument #1/);
  });
});

describe('kumo.serde.json_load and the other loaders', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kumo-serde-'));
  const jsonFile = path.join(dir, 'a.json');
  writeFileSync(jsonFile, '// config\n{"x": [1, 2], "y": {"z": 1.0}}');
  const tomlFile = path.join(dir, 'a.toml');
  writeFileSync(tomlFile, 'x = 1\n[t]\ny = "s"\n');
  const yamlFile = path.join(dir, 'a.yaml');
  writeFileSync(yamlFile, 'a: 1\nb:\n- x\n');

  it('loads JSON files', async () => {
    expect(await evalLua(`return kumo.serde.json_encode_pretty(kumo.serde.json_load(${JSON.stringify(jsonFile)}))`)).toBe(
      '{\n  "x": [\n    1,\n    2\n  ],\n  "y": {\n    "z": 1.0\n  }\n}',
    );
  });
  it('loads TOML and YAML files', async () => {
    expect(await evalLua(`return kumo.serde.json_encode_pretty(kumo.serde.toml_load(${JSON.stringify(tomlFile)}))`)).toBe('{\n  "t": {\n    "y": "s"\n  },\n  "x": 1\n}');
    expect(await evalLua(`return kumo.serde.json_encode_pretty(kumo.serde.yaml_load(${JSON.stringify(yamlFile)}))`)).toBe('{\n  "a": 1,\n  "b": [\n    "x"\n  ]\n}');
  });
  it('reports missing files and bad content with the path', async () => {
    const missing = path.join(dir, 'nope.json');
    expect(await err(`kumo.serde.json_load(${JSON.stringify(missing)})`)).toBe(`reading file ${missing}: No such file or directory (os error 2)`);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{');
    expect(await err(`kumo.serde.json_load(${JSON.stringify(bad)})`)).toMatch(new RegExp(`^parsing ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} as json: EOF while parsing an object`));
  });
});

describe('kumo.serde TOML', () => {
  it('parses integers, floats, arrays and datetimes', async () => {
    expect(await evalLua(`local t = kumo.serde.toml_parse('i = 1\\nf = 1.0\\na = [1, 2]\\nd = 1979-05-27T07:32:00Z\\n')
      return { math.type(t.i), math.type(t.f), getmetatable(t.a) == false, type(t.d), t.d['$__toml_private_datetime'] ~= nil }`)).toEqual(['integer', 'float', true, 'table', true]);
  });
  it('reports parse errors with position', async () => {
    expect(await err(`kumo.serde.toml_parse('x = ')`)).toMatch(/^parsing x = {2}as toml: TOML parse error at line 1, column \d+/);
  });
  it('encodes tables, keeping floats as floats', async () => {
    const text = (await evalLua(`return kumo.serde.toml_encode({ name = 'x', n = 1, f = 2.0, list = {1, 2}, sub = { k = true } })`)) as string;
    expect(text).toContain('name = "x"');
    expect(text).toContain('n = 1\n');
    expect(text).toContain('f = 2.0');
    expect(text).toContain('list = [ 1, 2 ]'.replace(/ \]/, ' ]'));
    expect(text).toContain('[sub]\nk = true');
    expect(await evalLua(`local t = kumo.serde.toml_parse(kumo.serde.toml_encode({a = 1, b = {c = 'd'}})) return t.b.c`)).toBe('d');
  });
  it('requires a table at the top level', async () => {
    expect(await err(`kumo.serde.toml_encode('x')`)).toMatch(/^unsupported str type/);
    expect(await err(`kumo.serde.toml_encode({1, 2})`)).toMatch(/^unsupported array type/);
  });
  it('sorts keys in toml_encode_pretty_compact', async () => {
    expect(await evalLua(`return kumo.serde.toml_encode_pretty_compact({ b = 1, a = 2 })`)).toBe('a = 2\nb = 1\n');
  });
});

describe('kumo.serde YAML', () => {
  it('parses like JSON: null is nil, arrays get the marker', async () => {
    expect(await evalLua(`local t = kumo.serde.yaml_parse('a: ~\\nb: 1\\nc: 1.0\\nd: [x, y]\\ne: &anc v\\nf: *anc\\n')
      return { t.a == nil, math.type(t.b), math.type(t.c), getmetatable(t.d) == false, t.f }`)).toEqual([true, 'integer', 'float', true, 'v']);
  });
  it('rejects several documents and bad syntax', async () => {
    expect(await err(`kumo.serde.yaml_parse('a: 1\\n---\\nb: 2\\n')`)).toMatch(/^parsing a: 1\n---\nb: 2\n as yaml: /);
    expect(await err(`kumo.serde.yaml_parse('a: [')`)).toMatch(/^parsing a: \[ as yaml: /);
  });
  it('encodes block style without --- and with unindented sequences', async () => {
    expect(await evalLua(`return kumo.serde.yaml_encode({ key = { 'a', 'b' } })`)).toBe('key:\n- a\n- b\n');
    expect(await evalLua(`return kumo.serde.yaml_encode({})`)).toBe('{}\n');
    expect(await evalLua(`return kumo.serde.yaml_encode({ f = 1.0 })`)).toBe('f: 1.0\n');
    expect(await evalLua(`return kumo.serde.yaml_encode({ s = 'true' })`)).toBe("s: 'true'\n");
    expect(await evalLua(`return kumo.serde.yaml_encode({ s = '123' })`)).toBe("s: '123'\n");
    expect(await evalLua(`return kumo.serde.yaml_encode({ s = '' })`)).toBe("s: ''\n");
  });
  it('refuses bytes that are not UTF-8', async () => {
    expect(await err(`kumo.serde.yaml_encode({ s = '\\xff' })`)).toMatch(/bytes/);
  });
});
