"use strict";

/*
** kumo-lua: what Lua's collector makes observable, on a JS heap.
**
** JS collects Lua objects on its own and cannot tell us when, so there is no
** automatic finalization. Instead:
** - collectgarbage() ("collect"/"step") runs an explicit mark pass from the
**   roots (registry, basic-type metatables, main and calling threads). Weak
**   tables (__mode 'k', 'v' or 'kv') lose the entries whose collectable key
**   or value was not reached, with ephemeron semantics for weak keys. Objects
**   marked for finalization (setmetatable with a __gc field) that were not
**   reached get their __gc called, once, newest first.
** - lua_close / lua_runallfinalizers run every pending __gc, newest first.
** Errors in __gc become warnings, as in Lua 5.4.
*/

const {
    constant_types: {
        LUA_TCCL,
        LUA_TLCL,
        LUA_TTABLE,
        LUA_TTHREAD,
        LUA_TUSERDATA
    },
    thread_status: { LUA_OK },
    to_luastring
} = require('./defs.js');
const lobject = require('./lobject.js');
const ltable = require('./ltable.js');
const ltm = require('./ltm.js');
const ldo = require('./ldo.js');

const iscollectable = function(tv) {
    switch (tv.type) {
        case LUA_TTABLE: case LUA_TLCL: case LUA_TCCL:
        case LUA_TUSERDATA: case LUA_TTHREAD:
            return true;
        default:
            return false;
    }
};

/* setmetatable hook: an object whose new metatable has __gc is marked for finalization */
const luaC_checkfinalizer = function(L, obj, mt) {
    if (mt === null || obj.finalizable) return;
    if (ltable.luaH_getstr(mt, L.l_G.tmname[ltm.TMS.TM_GC]).ttisnil()) return;
    obj.finalizable = true;
    L.l_G.finobjs.push(obj);
};

const weakmode = function(g, mt) {
    if (mt === null) return 0;
    let mode = ltable.luaH_getstr(mt, g.tmname[ltm.TMS.TM_MODE]);
    if (!mode.ttisstring()) return 0;
    let s = mode.svalue();
    let r = 0;
    for (let i = 0; i < s.length; i++) {
        if (s[i] === 107 /* 'k' */) r |= 1;
        else if (s[i] === 118 /* 'v' */) r |= 2;
    }
    return r;
};

class Marker {
    constructor(g) {
        this.g = g;
        this.marked = new Set();
        this.gray = [];
        this.weak = [];        /* [table, mode] for every weak table reached */
        this.ephemerons = [];  /* weak-key tables whose values wait for their keys */
    }

    markvalue(tv) {
        if (tv !== undefined && tv !== null && iscollectable(tv)) this.markobject(tv.value);
    }

    markobject(o) {
        if (o === null || o === undefined || this.marked.has(o)) return;
        this.marked.add(o);
        this.gray.push(o);
    }

    propagate() {
        for (;;) {
            while (this.gray.length > 0) this.traverse(this.gray.pop());
            if (!this.convergeephemerons()) return;
        }
    }

    traverse(o) {
        if (o instanceof ltable.Table) return this.traversetable(o);
        if (o instanceof lobject.LClosure) {
            for (let i = 0; i < o.nupvalues; i++) this.markvalue(o.upvals[i]);
        } else if (o instanceof lobject.CClosure) {
            for (let i = 0; i < o.nupvalues; i++) this.markvalue(o.upvalue[i]);
        } else if (o instanceof lobject.Udata) {
            if (o.metatable) this.markobject(o.metatable);
            this.markvalue(o.uservalue);
        } else if (o.stack !== undefined) {  /* a thread */
            this.traversethread(o);
        }
    }

    traversethread(th) {
        if (th.stack === null) return;
        let top = th.top;
        if (th.ci && th.ci.top > top) top = th.ci.top;  /* be generous: live registers */
        for (let i = 0; i < top && i < th.stack.length; i++) this.markvalue(th.stack[i]);
    }

    traversetable(t) {
        if (t.metatable) this.markobject(t.metatable);
        let mode = weakmode(this.g, t.metatable);
        if (mode !== 0) this.weak.push([t, mode]);
        if (mode === 1) {  /* weak keys: values wait for their keys */
            this.ephemerons.push(t);
            return;
        }
        for (let e = t.f; e; e = e.n) {
            if (!(mode & 1)) this.markvalue(e.key);
            if (!(mode & 2)) this.markvalue(e.value);
        }
    }

    /* mark the values of weak-key entries whose key is reached; true if anything changed */
    convergeephemerons() {
        let changed = false;
        for (let t of this.ephemerons) {
            for (let e = t.f; e; e = e.n) {
                let keyalive = !iscollectable(e.key) || this.marked.has(e.key.value);
                if (keyalive && iscollectable(e.value) && !this.marked.has(e.value.value)) {
                    this.markobject(e.value.value);
                    changed = true;
                }
            }
        }
        return changed;
    }

    isdead(tv) {
        return iscollectable(tv) && !this.marked.has(tv.value);
    }

    clearweak() {
        for (let [t, mode] of this.weak) {
            let dead = [];
            for (let [hash, e] of t.strong) {
                if (((mode & 1) && this.isdead(e.key)) || ((mode & 2) && this.isdead(e.value)))
                    dead.push(hash);
            }
            for (let hash of dead) ltable.luaH_removehash(t, hash);
        }
    }
}

const callgc = function(L, obj) {
    let tv = new lobject.TValue(obj instanceof ltable.Table ? LUA_TTABLE : LUA_TUSERDATA, obj);
    let tm = ltm.luaT_gettmbyobj(L, tv, ltm.TMS.TM_GC);
    if (!tm.ttisfunction()) return;  /* __gc removed (or not a function): nothing to call */
    let oldtop = L.top;
    let status = ldo.luaD_rawrunprotected(L, function(L) {
        let func = L.top;
        lobject.pushobj2s(L, tm);
        lobject.pushobj2s(L, tv);
        ldo.luaD_callnoyield(L, func, 0);
    }, null);
    if (status !== LUA_OK) {
        let err = L.stack[L.top - 1];
        let msg = err && err.ttisstring() ? err.svalue() : to_luastring("error object is not a string");
        let warn = L.l_G.warnf;
        if (warn) {
            warn(to_luastring("error in __gc metamethod ("), true);
            warn(msg, true);
            warn(to_luastring(")"), false);
        }
    }
    ldo.adjust_top(L, oldtop);
};

/* run the finalizers of 'objs' (already removed from the pending list), newest first */
const runfinalizers = function(L, objs) {
    let ci = L.ci;
    let allowhook = L.allowhook;
    for (let i = objs.length - 1; i >= 0; i--) {
        callgc(L, objs[i]);
        L.ci = ci;
        L.allowhook = allowhook;
    }
};

/* collectgarbage("collect"): mark, clear weak tables, finalize what was not reached */
const luaC_fullgc = function(L) {
    let g = L.l_G;
    let m = new Marker(g);
    m.markvalue(g.l_registry);
    for (let i = 0; i < g.mt.length; i++) if (g.mt[i]) m.markobject(g.mt[i]);
    m.markobject(g.mainthread);
    m.markobject(L);
    m.propagate();
    m.clearweak();
    let unreached = [];
    let pending = [];
    for (let o of g.finobjs) (m.marked.has(o) ? pending : unreached).push(o);
    g.finobjs = pending;
    runfinalizers(L, unreached);
};

/* every pending finalizer, as when the state closes */
const luaC_runallfinalizers = function(L) {
    let g = L.l_G;
    let all = g.finobjs;
    g.finobjs = [];
    runfinalizers(L, all);
};

module.exports.luaC_checkfinalizer   = luaC_checkfinalizer;
module.exports.luaC_fullgc           = luaC_fullgc;
module.exports.luaC_runallfinalizers = luaC_runallfinalizers;
