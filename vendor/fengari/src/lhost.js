"use strict";

/*
** kumo-lua (new file): building and reading tables from host JavaScript
** without going through the API stack, for bulk conversions (JSON <-> Lua).
**
** Building: make values with host_string / host_int / host_float / ..., put
** them in fresh tables with host_setkey / host_seti, push the finished root
** with host_push. Every TValue handed in is owned by the table (or stack
** slot) it is stored in afterwards: never store the same TValue twice.
** Strings own the byte array they are given (do not mutate it later); a
** TString may be shared by any number of values (Lua strings are immutable).
**
** Reading: host_index gives the TValue at a stack index; a table's array
** length is host_getn, its integer entries host_geti, and its entries in
** lua_next order run from host_first(t) along `entry.n` (each entry has
** `key` and `value` TValues). Callers must not change the tables they read.
*/

const { constant_types } = require('./defs.js');
const {
    LUA_TBOOLEAN,
    LUA_TLIGHTUSERDATA,
    LUA_TLNGSTR,
    LUA_TNUMFLT,
    LUA_TNUMINT,
    LUA_TTABLE,
    LUA_TUSERDATA
} = constant_types;
const { api_check } = require('./llimits.js');
const lapi    = require('./lapi.js');
const lobject = require('./lobject.js');
const ltable = require('./ltable.js');
const { TString, luaS_hash, luaS_hashlongstr } = require('./lstring.js');
const { TValue } = lobject;

/* a Lua string value owning `bytes` */
const host_string = function(bytes) {
    return new TValue(LUA_TLNGSTR, new TString(null, bytes));
};

/* a TString owning `bytes` (its hash is computed when first used as a key) */
const host_tstring = function(bytes) {
    return new TString(null, bytes);
};

/* a TString owning `bytes` with its table hash computed now (a key stored often) */
const host_key = function(bytes) {
    let ts = new TString(null, bytes);
    ts.hash = luaS_hash(bytes);
    return ts;
};

/* a Lua string value for an existing TString */
const host_strvalue = function(ts) {
    return new TValue(LUA_TLNGSTR, ts);
};

/* integers must be safe integers (the fork's integer range); -0 becomes 0 */
const host_int = function(n) {
    return new TValue(LUA_TNUMINT, n + 0);
};

const host_float = function(n) {
    return new TValue(LUA_TNUMFLT, n);
};

const host_bool = function(b) {
    return new TValue(LUA_TBOOLEAN, b);
};

const host_lightuserdata = function(p) {
    return new TValue(LUA_TLIGHTUSERDATA, p);
};

const host_newtable = function(L) {
    return ltable.luaH_new(L);
};

const host_tablevalue = function(t) {
    return new TValue(LUA_TTABLE, t);
};

/* raw t[key] = value for a TString key; value must not be nil; true when it replaced a value */
const host_setkey = function(t, ts, value) {
    let hash = luaS_hashlongstr(ts);
    let e = t.strong.get(hash);
    if (e) {
        e.value.setfrom(value);
        return true;
    }
    ltable.luaH_add(t, hash, new TValue(LUA_TLNGSTR, ts), value);
    return false;
};

/* whether t has a (live) entry for the TString key */
const host_haskey = function(t, ts) {
    return t.strong.has(luaS_hashlongstr(ts));
};

/* raw t[i] = value for a safe integer i; value must not be nil */
const host_seti = function(t, i, value) {
    let e = t.strong.get(i);
    if (e) e.value.setfrom(value);
    else ltable.luaH_add(t, i, new TValue(LUA_TNUMINT, i), value);
};

/* a metatable without __gc (no finalizer bookkeeping, unlike lua_setmetatable) */
const host_setmetatable = function(t, mt) {
    t.metatable = mt;
};

/* pushes a fresh TValue (not stored anywhere else) */
const host_push = function(L, value) {
    L.stack[L.top] = value;
    L.top++;
    api_check(L, L.top <= L.ci.top, "stack overflow");
};

/* the TValue at a stack index (nil object when absent); read it, do not keep it */
const host_index = function(L, idx) {
    return lapi.index2addr(L, idx);
};

const host_getn = ltable.luaH_getn;

const host_geti = function(t, i) {
    return ltable.luaH_getint(t, i);
};

const host_first = function(t) {
    return t.f;
};

/* the variant type tags a TValue's `type` holds (LUA_TNUMINT, LUA_TSHRSTR, ...) */
/* luaL_testudata against a metatable the host holds (no registry lookup by
   name): the block of the full userdata at idx when its metatable is `mt`, else null */
const host_testudata = function(L, idx, mt) {
    let o = lapi.index2addr(L, idx);
    if (o.type !== LUA_TUSERDATA) return null;
    let u = o.value;
    return u.metatable === mt ? u.data : null;
};

module.exports.types              = constant_types;
module.exports.host_testudata     = host_testudata;
module.exports.host_bool          = host_bool;
module.exports.host_first         = host_first;
module.exports.host_float         = host_float;
module.exports.host_geti          = host_geti;
module.exports.host_getn          = host_getn;
module.exports.host_haskey        = host_haskey;
module.exports.host_index         = host_index;
module.exports.host_int           = host_int;
module.exports.host_key           = host_key;
module.exports.host_lightuserdata = host_lightuserdata;
module.exports.host_newtable      = host_newtable;
module.exports.host_push          = host_push;
module.exports.host_setkey        = host_setkey;
module.exports.host_seti          = host_seti;
module.exports.host_setmetatable  = host_setmetatable;
module.exports.host_string        = host_string;
module.exports.host_strvalue      = host_strvalue;
module.exports.host_tablevalue    = host_tablevalue;
module.exports.host_tstring       = host_tstring;
