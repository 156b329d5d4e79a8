"use strict";

const { constant_types: { LUA_TNIL, LUA_TTABLE, LUA_TUSERDATA }, to_luastring } = require('./defs.js');
const lobject = require('./lobject.js');
const ldo     = require('./ldo.js');
const ldebug  = require('./ldebug.js');
const ltable  = require('./ltable.js');

class Proto {
    constructor(L) {
        this.id = L.l_G.id_counter++;
        this.k = [];              // constants used by the function
        this.p = [];              // functions defined inside the function
        this.code = [];           // opcodes
        this.cache = null;        // last-created closure with this prototype
        this.lineinfo = [];       // map from opcodes to source lines (debug information)
        this.upvalues = [];       // upvalue information
        this.numparams = 0;       // number of fixed parameters
        this.is_vararg = false;
        this.maxstacksize = 0;    // number of registers needed by this function
        this.locvars = [];        // information about local variables (debug information)
        this.linedefined = 0;     // debug information
        this.lastlinedefined = 0; // debug information
        this.source = null;       // used for debug information
    }
}

const luaF_newLclosure = function(L, n) {
    return new lobject.LClosure(L, n);
};


const luaF_findupval = function(L, level) {
    return L.stack[level];
};

/*
** Close upvalues and to-be-closed variables at or above 'level'. 'err' is
** undefined on a normal exit; on an error exit it is the error value (a
** TValue, nil when there is none), passed as __close's second argument.
*/
const luaF_close = function(L, level, err) {
    /* Create new TValues on stack;
     * any closures will keep referencing old TValues */
    for (let i=level; i<L.top; i++) {
        let old = L.stack[i];
        L.stack[i] = new lobject.TValue(old.type, old.value);
    }
    /* kumo-lua: Lua 5.4 to-be-closed variables, innermost first */
    let tbc = L.tbclist;
    while (tbc.length > 0 && tbc[tbc.length - 1] >= level) {
        let idx = tbc.pop();
        callclosemethod(L, L.stack[idx], err);
    }
};

/* the __close metamethod of 'o' (nil object if none) */
const gettmclose = function(L, o) {
    let mt;
    switch (o.ttnov()) {
        case LUA_TTABLE: case LUA_TUSERDATA: mt = o.value.metatable; break;
        default: mt = L.l_G.mt[o.ttnov()];
    }
    return mt ? ltable.luaH_getstr(mt, L.l_G.tmclose) : lobject.luaO_nilobject;
};

const callclosemethod = function(L, obj, err) {
    let tm = gettmclose(L, obj);
    if (tm.ttisnil()) return;  /* metamethod removed since the mark: nothing to call */
    ldo.luaD_checkstack(L, 3);
    let func = L.top;
    lobject.pushobj2s(L, tm);
    lobject.pushobj2s(L, obj);
    if (err === undefined) L.stack[L.top++] = new lobject.TValue(LUA_TNIL, null);
    else lobject.pushobj2s(L, err);
    ldo.luaD_callnoyield(L, func, 0);
};

/*
** OP_TBC: register the variable at 'level' to be closed. nil and false
** need no closing; any other value must have a __close metamethod.
*/
const luaF_newtbcupval = function(L, level, varname) {
    let obj = L.stack[level];
    if (obj.l_isfalse()) return;
    if (gettmclose(L, obj).ttisnil())
        ldebug.luaG_runerror(L, to_luastring("variable '%s' got a non-closable value"), varname);
    L.tbclist.push(level);
};

/*
** fill a closure with new upvalues
*/
const luaF_initupvals = function(L, cl) {
    for (let i = 0; i < cl.nupvalues; i++)
        cl.upvals[i] = new lobject.TValue(LUA_TNIL, null);
};

/*
** Look for n-th local variable at line 'line' in function 'func'.
** Returns null if not found.
*/
const luaF_getlocalname = function(f, local_number, pc) {
    for (let i = 0; i < f.locvars.length && f.locvars[i].startpc <= pc; i++) {
        if (pc < f.locvars[i].endpc) {  /* is variable active? */
            local_number--;
            if (local_number === 0)
                return f.locvars[i].varname.getstr();
        }
    }
    return null;  /* not found */
};

module.exports.MAXUPVAL          = 255;
module.exports.Proto             = Proto;
module.exports.luaF_findupval    = luaF_findupval;
module.exports.luaF_close        = luaF_close;
module.exports.luaF_newtbcupval  = luaF_newtbcupval;
module.exports.luaF_getlocalname = luaF_getlocalname;
module.exports.luaF_initupvals   = luaF_initupvals;
module.exports.luaF_newLclosure  = luaF_newLclosure;
