/**
 * Message methods that edit or expose the MIME structure: parse_mime
 * (lua-api-more.md §7.3), append_text_plain / append_text_html (§7.5).
 */
import { lua, type LuaCFunction } from '../lua/fengari.ts';
import { argString } from '../lua/args.ts';
import type { MethodMaker } from './lua-binding.ts';
import { appendText, type TextKind } from './append-text.ts';
import { pushParsedMime } from './mime-part-binding.ts';

function appendMethod(method: MethodMaker, kind: TextKind): LuaCFunction {
  const name = `append_text_${kind}`;
  return method(name, (L, msg) => {
    const addition = argString(L, 2);
    return () => {
      let data: Uint8Array | undefined;
      try {
        data = appendText(msg.getData(), kind, addition);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      }
      if (data !== undefined) msg.setData(data);
      const changed = data !== undefined;
      return (Lr) => (lua.lua_pushboolean(Lr, changed), 1);
    };
  });
}

export function mimeMethods(method: MethodMaker): Record<string, LuaCFunction> {
  return {
    parse_mime: method('parse_mime', (_L, msg) => () => {
      const data = msg.getData();
      return (Lr) => (pushParsedMime(Lr, data), 1);
    }),
    append_text_plain: appendMethod(method, 'plain'),
    append_text_html: appendMethod(method, 'html'),
  };
}
