/**
 * argString that keeps a leading U+FEFF. Works around the bridge: its UTF-8
 * decoders are TextDecoders without `ignoreBOM`, so they silently drop a BOM
 * at the start of a string, which Rust's `str` keeps.
 */
import type { LuaState } from '../../lua/fengari.ts';
import { argString } from '../../lua/args.ts';
import { toBytes } from '../../lua/strings.ts';

export function argText(L: LuaState, i: number): string {
  const text = argString(L, i);
  const b = toBytes(L, i);
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf && !text.startsWith('\uFEFF')) return `\uFEFF${text}`;
  return text;
}
