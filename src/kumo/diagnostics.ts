/**
 * `kumo.log_*`, `kumo.traceback`, `kumo.validation_failed`, `kumo.version`.
 * Diagnostic lines go to a DiagnosticLog (stderr by default, level from
 * KUMO_LUA_LOG=debug|info|warn|error), prefixed with the caller's file:line.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { argInteger } from '../lua/args.ts';
import { LUA_NULL, pushArrayMarker } from '../lua/marshal.ts';
import { decodeText, keyBytes, pushText, toBytes } from '../lua/strings.ts';
import { lauxlib } from '../lua/fengari.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface DiagnosticLog {
  enabled(level: LogLevel): boolean;
  write(level: LogLevel, message: string): void;
}

export class StderrLog implements DiagnosticLog {
  private readonly threshold: number;
  constructor(level: string = process.env.KUMO_LUA_LOG ?? 'info', private readonly out: (line: string) => void = (l) => process.stderr.write(l + '\n')) {
    this.threshold = LEVELS[(level as LogLevel)] ?? LEVELS.info;
  }
  enabled(level: LogLevel): boolean {
    return LEVELS[level] >= this.threshold;
  }
  write(level: LogLevel, message: string): void {
    if (this.enabled(level)) this.out(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}`);
  }
}

/** Collects lines in memory; the test harness reads them back. */
export class MemoryLog implements DiagnosticLog {
  readonly lines: { level: LogLevel; message: string }[] = [];
  enabled(): boolean {
    return true;
  }
  write(level: LogLevel, message: string): void {
    this.lines.push({ level, message });
  }
}

function callerPosition(L: LuaState): string {
  const ar = new lua.lua_Debug();
  if (!lua.lua_getstack(L, 1, ar)) return '';
  lua.lua_getinfo(L, keyBytes('Sl'), ar);
  if (ar.currentline < 0 || !ar.short_src) return '';
  return `${decodeText(ar.short_src)}:${ar.currentline}: `;
}

/** Arguments converted like tostring() and joined with spaces; invalid UTF-8 shown as \xNN. */
function joinArgs(L: LuaState): string {
  const parts: string[] = [];
  for (let i = 1; i <= lua.lua_gettop(L); i++) {
    lauxlib.luaL_tolstring(L, i);
    const bytes = toBytes(L, -1);
    lua.lua_pop(L, 1);
    let text = '';
    const strict = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    text = strict.includes('\uFFFD') ? Array.from(bytes, (b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('') : strict;
    parts.push(text);
  }
  return parts.join(' ');
}

function pushOrNull(L: LuaState, v: string | number | null): void {
  if (v === null) lua.lua_pushlightuserdata(L, LUA_NULL);
  else if (typeof v === 'number') lua.lua_pushinteger(L, v);
  else pushText(L, v);
}

/** kumo.traceback(level): frames from `level` outward (0 = traceback itself). */
function traceback(L: LuaState): number {
  const level = argInteger(L, 1);
  lua.lua_createtable(L, 0, 0);
  let index = 1;
  for (let lv = level; lv < 256; lv++) {
    const ar = new lua.lua_Debug();
    if (!lua.lua_getstack(L, lv, ar)) break;
    lua.lua_getinfo(L, keyBytes('nSlt'), ar);
    // Fengari calls host functions "[JS]"; KumoMTA scripts expect Lua's "[C]".
    const str = (v: Uint8Array | string | null) =>
      v === null || v === undefined ? null : (typeof v === 'string' ? v : decodeText(v)).replace('[JS]', '[C]');
    // Fengari marks host functions 'J'; Lua (and KumoMTA's scripts) call them 'C'.
    const what = str(ar.what) === 'J' ? 'C' : str(ar.what) ?? 'C';
    const isC = what === 'C';
    const fields: Record<string, string | number | null> = {
      event: 'Call',
      name: str(ar.name) || null,
      name_what: str(ar.namewhat) || null,
      source: str(ar.source),
      short_src: str(ar.short_src),
      line_defined: isC || ar.linedefined < 0 ? null : ar.linedefined,
      last_line_defined: isC || ar.lastlinedefined < 0 ? null : ar.lastlinedefined,
      what,
      curr_line: isC || ar.currentline < 0 ? null : ar.currentline,
    };
    lua.lua_createtable(L, 0, 10);
    for (const [k, v] of Object.entries(fields)) {
      pushOrNull(L, v);
      lua.lua_setfield(L, -2, keyBytes(k));
    }
    lua.lua_pushboolean(L, !!ar.istailcall);
    lua.lua_setfield(L, -2, keyBytes('is_tail_call'));
    lua.lua_rawseti(L, -2, index++);
  }
  pushArrayMarker(L);
  lua.lua_setmetatable(L, -2);
  return 1;
}

export const KUMO_LUA_VERSION = '0.1.0';

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    kumo.fn(`log_${level}`, (L) => {
      if (ctx.log.enabled(level)) ctx.log.write(level, `${callerPosition(L)}${joinArgs(L)}`);
      return 0;
    });
  }
  kumo.fn('traceback', traceback);
  kumo.fn('validation_failed', () => {
    ctx.validationFailed = true;
    return 0;
  });
  kumo.fn('set_diagnostic_log_filter', () => 0);
  kumo.value('version', (L) => pushText(L, `kumo-lua ${KUMO_LUA_VERSION}`));
}
