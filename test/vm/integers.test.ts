/**
 * Lua 5.4 integer semantics on the vendored Fengari fork: integers are exact
 * to ±(2^53 − 1), and a result beyond that raises instead of wrapping.
 * Expected values follow the Lua 5.4 reference manual (§3.4.1–3.4.3, §6.4, §6.7).
 */
import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';

const t = newLua();
/** `math.type(v):tostring(v)` of a Lua expression. */
const typed = (expr: string) => t.eval(`local v = ${expr} return (math.type(v) or type(v)) .. ':' .. tostring(v)`);

describe('the issue\'s examples', () => {
  it('1722790000 * 1000 == 1722790000000 (an integer)', async () => {
    expect(await t.eval('return 1722790000 * 1000 == 1722790000000')).toBe(true);
    expect(await typed('1722790000 * 1000')).toBe('integer:1722790000000');
  });
  it("string.format('%d', 2^40) == '1099511627776'", async () => {
    expect(await t.eval(`return string.format('%d', 2^40)`)).toBe('1099511627776');
  });
});

describe('arithmetic', () => {
  it('keeps integer results exact up to 2^53 - 1', async () => {
    expect(await typed('math.maxinteger')).toBe('integer:9007199254740991');
    expect(await typed('math.mininteger')).toBe('integer:-9007199254740991');
    expect(await typed('math.maxinteger - 1 + 1')).toBe('integer:9007199254740991');
    expect(await typed('4503599627370495 * 2 + 1')).toBe('integer:9007199254740991');
    expect(await typed('-4503599627370495 * 2 - 1')).toBe('integer:-9007199254740991');
  });
  it('keeps 3 and 3.0 apart', async () => {
    expect(await typed('3')).toBe('integer:3');
    expect(await typed('3.0')).toBe('float:3.0');
    expect(await typed('6 / 2')).toBe('float:3.0');
    expect(await typed('2^2')).toBe('float:4.0');
    expect(await typed('3 + 0.0')).toBe('float:3.0');
    expect(await typed('3000000000')).toBe('integer:3000000000');
  });
  it('raises a clear error instead of wrapping', async () => {
    expect(await errorOf(t.eval('local x = math.maxinteger return x + 1'))).toMatch(/integer overflow in addition \(result beyond ±2\^53\)/);
    expect(await errorOf(t.eval('local x = math.mininteger return x - 1'))).toMatch(/integer overflow in subtraction/);
    expect(await errorOf(t.eval('local x = 1722790000 return x * 1722790000'))).toMatch(/integer overflow in multiplication/);
    expect(await errorOf(t.eval('local x = 1 return x << 53'))).toMatch(/integer overflow in left shift/);
  });
  it('floor division and modulo round toward minus infinity', async () => {
    expect(await typed('7 // 2')).toBe('integer:3');
    expect(await typed('-7 // 2')).toBe('integer:-4');
    expect(await typed('7 // -2')).toBe('integer:-4');
    expect(await typed('-7 % 3')).toBe('integer:2');
    expect(await typed('7 % -3')).toBe('integer:-2');
    expect(await typed('9007199254740991 // 2')).toBe('integer:4503599627370495');
    expect(await typed('9007199254740991 % 10')).toBe('integer:1');
    expect(await typed('-9007199254740991 // 7')).toBe('integer:-1286742750677285');
    expect(await typed('7.5 // 2')).toBe('float:3.0');
    expect(await typed('-6 % 3')).toBe('integer:0');
  });
  it('names integer division and modulo by zero', async () => {
    expect(await errorOf(t.eval('local z = 0 return 1 // z'))).toMatch(/attempt to perform 'n\/\/0'/);
    expect(await errorOf(t.eval('local z = 0 return 1 % z'))).toMatch(/attempt to perform 'n%0'/);
    expect(await typed('1 // 0.0')).toBe('float:inf');
  });
  it('compares integers beyond 2^31 exactly', async () => {
    expect(await t.eval('return 2^40 == 1099511627776, 9007199254740991 > 9007199254740990')).toBe(true);
    expect(await t.eval('local a, b = 9007199254740991, 9007199254740990 return a > b and b < a and a ~= b')).toBe(true);
    expect(await t.eval('return math.ult(1, -1), math.ult(-1, 1)')).toBe(true);
    expect(await t.eval('return math.ult(-1, 1)')).toBe(false);
  });
});

describe('bitwise operators (64-bit two\'s complement, results within ±2^53)', () => {
  it('work beyond 32 bits', async () => {
    expect(await typed('1 << 40')).toBe('integer:1099511627776');
    expect(await typed('(1 << 52) | 1')).toBe('integer:4503599627370497');
    expect(await typed('0xFFFFFFFFFFFF & 0xF0F0F0F0F0F0')).toBe('integer:264917625139440');
    expect(await typed('0xFFFFFFFFFFFF ~ 0xF0F0F0F0F0F0')).toBe('integer:16557351571215');
    expect(await typed('~0')).toBe('integer:-1');
    expect(await typed('~5')).toBe('integer:-6');
    expect(await typed('-1 >> 12')).toBe('integer:4503599627370495');
    expect(await typed('2^40 >> 8')).toBe('integer:4294967296');
    expect(await typed('1 << 64')).toBe('integer:0');
    expect(await typed('1 >> -3')).toBe('integer:8');
    expect(await typed('2^53 - 1 | 0')).toBe('integer:9007199254740991');
  });
  it('refuse floats without an integer value', async () => {
    expect(await errorOf(t.eval('local x = 1.5 return x | 0'))).toMatch(/number \(local 'x'\) has no integer representation/);
  });
});

describe('numeric for', () => {
  it('runs to math.maxinteger without wrapping', async () => {
    expect(await t.eval('local n = 0 for i = math.maxinteger - 7, math.maxinteger do n = n + 1 end return n')).toBe(8);
    expect(await t.eval('local n = 0 for i = math.mininteger + 2, math.mininteger, -1 do n = n + 1 end return n')).toBe(3);
  });
  it('steps through large integers and keeps the loop variable an integer', async () => {
    expect(await t.eval(`local out = {} for i = 2^40, 2^40 + 2 do out[#out + 1] = math.type(i) .. tostring(i) end return table.concat(out, ',')`)).toBe(
      'float1099511627776.0,float1099511627777.0,float1099511627778.0',
    );
    expect(await t.eval(`local out = {} for i = 1099511627776, 1099511627778 do out[#out + 1] = tostring(i) end return table.concat(out, ',')`)).toBe(
      '1099511627776,1099511627777,1099511627778',
    );
  });
  it("refuses a zero step (Lua 5.4: \"'for' step is zero\")", async () => {
    expect(await errorOf(t.eval('for i = 1, 10, 0 do end'))).toMatch(/'for' step is zero/);
  });
});

describe('table keys', () => {
  it('normalises integral float keys beyond 2^31 to integers', async () => {
    expect(await t.eval('local t = {} t[2^40] = "a" return t[1099511627776]')).toBe('a');
    expect(await t.eval('local t = {} t[2^40] = "a" return math.type(next(t))')).toBe('integer');
    expect(await t.eval('local t = {} t[1099511627776] = 1 t[1099511627777] = 2 return t[1099511627776] + t[1099511627777]')).toBe(3);
  });
});

describe('conversions and text', () => {
  it('math.tointeger and math.type', async () => {
    expect(await typed('math.tointeger(2^40)')).toBe('integer:1099511627776');
    expect(await t.eval('return math.tointeger(2^53) == nil')).toBe(true);
    expect(await t.eval('return math.tointeger(3.5) == nil')).toBe(true);
    expect(await typed('math.floor(2^40 + 0.5)')).toBe('integer:1099511627776');
    expect(await t.eval("return math.type('1')")).toBe(null);
    expect(await t.eval("return math.type(1)")).toBe('integer');
  });
  it('string.format %d %x %X %o and flags', async () => {
    expect(await t.eval(`return string.format('%d|%5d|%-5d|%05d|%+d', 1099511627776, 42, 42, -42, 7)`)).toBe('1099511627776|   42|42   |-0042|+7');
    expect(await t.eval(`return string.format('%x|%X|%#x|%o', 2^40, 255, 255, 8)`)).toBe('10000000000|FF|0xff|10');
    expect(await t.eval(`return string.format('%x', -1)`)).toBe('ffffffffffffffff');
    expect(await errorOf(t.eval(`return string.format('%d', 2^53)`))).toMatch(/number has no integer representation/);
  });
  it('tostring and string coercion of integers', async () => {
    expect(await t.eval('return tostring(1722790000 * 1000)')).toBe('1722790000000');
    expect(await t.eval('return 1099511627776 .. ""')).toBe('1099511627776');
    expect(await typed('tonumber("1099511627776")')).toBe('integer:1099511627776');
    expect(await typed('tonumber("ffffffffff", 16)')).toBe('integer:1099511627775');
    expect(await typed('tonumber("9007199254740993")')).toBe('float:9.007199254741e+15');
    expect(await t.eval('return tonumber("12z", 10) == nil')).toBe(true);
  });
  it('string.pack and unpack with j and i8 are 8 bytes and exact', async () => {
    expect(await t.eval(`return #string.pack('j', 1)`)).toBe(8);
    expect(await typed(`string.unpack('j', string.pack('j', 2^40))`)).toBe('integer:1099511627776');
    expect(await typed(`string.unpack('<i8', string.pack('<i8', -5))`)).toBe('integer:-5');
    expect(await t.eval(`return string.pack('>i8', 1099511627776) == '\\0\\0\\1\\0\\0\\0\\0\\0'`)).toBe(true);
    expect(await typed(`string.unpack('<I6', string.pack('<I6', 2^47))`)).toBe('integer:140737488355328');
    expect(await errorOf(t.eval(`return string.unpack('<i8', string.rep('\\255', 7) .. '\\127')`))).toMatch(/does not fit into a Lua integer/);
    expect(await errorOf(t.eval(`return string.pack('i2', 40000)`))).toMatch(/integer overflow/);
  });
  it('utf8 functions take and return integers', async () => {
    expect(await typed(`utf8.codepoint('€')`)).toBe('integer:8364');
    expect(await t.eval(`return utf8.char(72, 8364, 128512)`)).toBe('H€😀');
    expect(await typed(`utf8.len('h€llo')`)).toBe('integer:5');
  });
});
