"use strict";

/*
** kumo-lua: C printf conversions for string.format, replacing sprintf-js
** (which formats %x/%o through 32-bit integers and %g/%e unlike C).
** Integers are exact to ±(2^53 - 1); %x/%X/%o/%u print negative integers as
** their 64-bit two's complement, as Lua 5.4 does. Non-finite floats print
** as glibc does ('inf', '-inf', '-nan').
*/

const { fmt_g } = require('./luaconf.js');

/* 'form' is the char codes of one conversion, e.g. "%-08.3d" */
const parse_spec = function(form) {
    const str = String.fromCharCode.apply(null, form);
    const m = /^%([-+ #0]*)(\d*)(?:\.(\d*))?([a-zA-Z])$/.exec(str);
    if (m === null) throw new RangeError("invalid conversion '" + str + "' to 'format'");
    return {
        left: m[1].indexOf("-") >= 0,
        plus: m[1].indexOf("+") >= 0,
        space: m[1].indexOf(" ") >= 0,
        alt: m[1].indexOf("#") >= 0,
        zero: m[1].indexOf("0") >= 0,
        width: m[2] ? Number(m[2]) : 0,
        prec: m[3] !== undefined ? Number(m[3] || 0) : -1,
        conv: m[4]
    };
};

/* place 'sign' + 'body' in the field width */
const pad = function(spec, sign, body, zeropad) {
    const fill = spec.width - sign.length - body.length;
    if (fill <= 0) return sign + body;
    if (spec.left) return sign + body + " ".repeat(fill);
    if (zeropad) return sign + "0".repeat(fill) + body;
    return " ".repeat(fill) + sign + body;
};

const signof = function(spec, negative) {
    return negative ? "-" : spec.plus ? "+" : spec.space ? " " : "";
};

const format_integer = function(spec, n) {
    const conv = spec.conv;
    let sign = "";
    let digits;
    if (conv === "d" || conv === "i") {
        sign = signof(spec, n < 0);
        digits = String(Math.abs(n));
    } else {
        const base = conv === "o" ? 8 : conv === "u" ? 10 : 16;
        const u = n >= 0 ? n : BigInt.asUintN(64, BigInt(n));
        digits = u.toString(base);
        if (conv === "X") digits = digits.toUpperCase();
    }
    if (spec.prec >= 0) {
        if (spec.prec === 0 && n === 0) digits = "";
        else if (digits.length < spec.prec) digits = "0".repeat(spec.prec - digits.length) + digits;
    }
    if (spec.alt) {
        if (conv === "o" && digits[0] !== "0") digits = "0" + digits;
        else if ((conv === "x" || conv === "X") && n !== 0) sign = conv === "x" ? "0x" : "0X";
    }
    return pad(spec, sign, digits, spec.zero && spec.prec < 0);
};

/* exponent written with at least two digits, as C does */
const cexp = function(s) {
    return s.replace(/e([+-])(\d)$/, "e$10$2");
};

const format_float = function(spec, n) {
    const conv = spec.conv;
    const upper = conv === "E" || conv === "F" || conv === "G";
    const lower = conv.toLowerCase();
    let body;
    let sign;
    if (!isFinite(n)) {
        sign = n !== n ? "-" : signof(spec, n < 0);  /* x86 glibc: 0/0 is '-nan' */
        body = n !== n ? "nan" : "inf";
        if (upper) body = body.toUpperCase();
        return pad(spec, sign, body, false);
    }
    sign = signof(spec, n < 0 || Object.is(n, -0));
    const a = Math.abs(n);
    const prec = spec.prec < 0 ? 6 : spec.prec;
    if (lower === "e") {
        body = cexp(a.toExponential(prec));
        if (spec.alt && prec === 0) body = body.replace("e", ".e");
    } else if (lower === "f") {
        body = a < 1e21 ? a.toFixed(prec) : BigInt(a).toString() + (prec > 0 ? "." + "0".repeat(prec) : "");
        if (spec.alt && prec === 0) body += ".";
    } else {  /* g */
        body = fmt_g(a, prec, spec.alt);
    }
    if (upper) body = body.toUpperCase();
    return pad(spec, sign, body, spec.zero);
};

/* %s with a width or precision, on the string's bytes */
const format_bytes = function(spec, s) {
    if (spec.prec >= 0 && s.length > spec.prec) s = s.subarray(0, spec.prec);
    const fill = spec.width - s.length;
    if (fill <= 0) return s;
    const out = new Uint8Array(spec.width);
    out.fill(32);
    out.set(s, spec.left ? 0 : fill);
    return out;
};

module.exports.format_bytes   = format_bytes;
module.exports.format_float   = format_float;
module.exports.format_integer = format_integer;
module.exports.parse_spec     = parse_spec;
