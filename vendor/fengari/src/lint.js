"use strict";

/*
** kumo-lua: exact integer arithmetic for Lua integers held in JS doubles.
**
** Upstream fengari keeps lua_Integer in int32 and wraps with `|0`. Here an
** integer is any double in [LUA_MININTEGER, LUA_MAXINTEGER] = ±(2^53 - 1),
** where double arithmetic is exact. Every operation that could leave that
** range returns NaN instead of a wrong value; callers turn NaN into the error
** raised by luaI_overflow (or, in the constant folder, into "do not fold").
**
** Bitwise operators follow Lua 5.4's 64-bit two's-complement semantics; the
** result must again fit in ±(2^53 - 1). int32 operands take a fast path,
** anything wider goes through BigInt.
*/

const { LUA_MAXINTEGER, LUA_MININTEGER } = require('./luaconf.js');

const TWO_POW = [];
for (let i = 0; i < 64; i++) TWO_POW.push(Math.pow(2, i));

const inrange = function(r) {
    return (r > LUA_MAXINTEGER || r < LUA_MININTEGER) ? NaN : r;
};

const luaI_add = function(a, b) { return inrange(a + b); };
const luaI_sub = function(a, b) { return inrange(a - b); };

const luaI_mul = function(a, b) {
    const r = a * b;  /* exact whenever the true product is in range */
    if (r > LUA_MAXINTEGER || r < LUA_MININTEGER) return NaN;
    return r === 0 ? 0 : r;  /* no integer -0 */
};

/* floor division and modulo; 'n' must not be zero (callers check) */
const luaI_idiv = function(m, n) {
    if ((m | 0) === m && (n | 0) === n && n !== -1)  /* int32 fast path: the quotient's double is exact */
        return Math.floor(m / n) | 0;
    const r = m % n;  /* exact (truncated remainder) */
    let q = (m - r) / n;  /* exact: m - r is a multiple of n */
    if (r !== 0 && (r < 0) !== (n < 0)) q -= 1;  /* truncation -> floor */
    return q === 0 ? 0 : q;
};

const luaI_mod = function(m, n) {
    if ((m | 0) === m && (n | 0) === n)  /* int32 fast path: every step is exact */
        return (m - Math.floor(m / n) * n) | 0;
    let r = m % n;
    if (r !== 0 && (r < 0) !== (n < 0)) r += n;
    return r === 0 ? 0 : r;
};

const isint32 = function(a) { return (a | 0) === a; };

const luaI_band = function(a, b) {
    if (isint32(a) && isint32(b)) return a & b;
    return inrange(Number(BigInt(a) & BigInt(b)));
};

const luaI_bor = function(a, b) {
    if (isint32(a) && isint32(b)) return a | b;
    return inrange(Number(BigInt(a) | BigInt(b)));
};

const luaI_bxor = function(a, b) {
    if (isint32(a) && isint32(b)) return a ^ b;
    return inrange(Number(BigInt(a) ^ BigInt(b)));
};

const luaI_bnot = function(a) {
    return inrange(-a - 1);
};

/* logical shift left by y (negative y shifts right), 64-bit semantics */
const luaI_shiftl = function(x, y) {
    if (y < 0) {  /* shift right */
        if (y <= -64) return 0;
        if (x >= 0) return Math.floor(x / TWO_POW[-y]);
        return inrange(Number(BigInt.asUintN(64, BigInt(x)) >> BigInt(-y)));
    }
    if (y >= 64) return 0;
    const r = x * TWO_POW[y];
    if (r <= LUA_MAXINTEGER && r >= LUA_MININTEGER) return r === 0 ? 0 : r;
    return inrange(Number(BigInt.asIntN(64, BigInt(x) << BigInt(y))));
};

/* names used in overflow messages, indexed like LUA_OPADD.. in lua.js */
const OPNAMES = [
    "addition", "subtraction", "multiplication", "modulo", "exponentiation",
    "division", "floor division", "bitwise and", "bitwise or", "bitwise xor",
    "left shift", "right shift", "negation", "bitwise not"
];

module.exports.OPNAMES      = OPNAMES;
module.exports.luaI_add     = luaI_add;
module.exports.luaI_band    = luaI_band;
module.exports.luaI_bnot    = luaI_bnot;
module.exports.luaI_bor     = luaI_bor;
module.exports.luaI_bxor    = luaI_bxor;
module.exports.luaI_idiv    = luaI_idiv;
module.exports.luaI_mod     = luaI_mod;
module.exports.luaI_mul     = luaI_mul;
module.exports.luaI_shiftl  = luaI_shiftl;
module.exports.luaI_sub     = luaI_sub;
module.exports.inrange      = inrange;
