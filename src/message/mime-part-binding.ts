/**
 * MimePart and its header list as Lua userdata (lua-api-more.md §7.3), and
 * the kumo.mimepart constructors. Methods are synchronous: they work on the
 * part's own copy of the bytes, never on the message.
 */
import { lua, type LuaState, LUA_TSTRING } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { argBytes, argString, checkTable, optString } from '../lua/args.ts';
import { decodeUtf8Strict, keyBytes, pushBytes, pushText, toBytes, toText } from '../lua/strings.ts';
import type { ModuleTable } from '../kumo/module-table.ts';
import { buildMime, MimeNode, newLeaf, newMultipart, parseMime, simpleStructure, type MimeBuild } from './mime-part.ts';
import { StructReader } from '../kumo/support/struct-args.ts';

interface PartRef {
  node: MimeNode;
  /** Position in the tree it came from ('0', '0.1' ...). */
  id: string;
}

function pushOpt(L: LuaState, v: string | undefined): void {
  if (v === undefined) lua.lua_pushnil(L);
  else pushText(L, v);
}

function pushStrings(L: LuaState, values: readonly string[]): void {
  lua.lua_createtable(L, values.length, 0);
  values.forEach((v, i) => (pushText(L, v), lua.lua_rawseti(L, -2, i + 1)));
}

export const MimeHeadersClass: LuaClass<MimeNode> = new LuaClass<MimeNode>({
  name: 'MimeHeaders',
  methods: {
    get_first_named_header_value: (L) => (pushOpt(L, MimeHeadersClass.check(L, 1).header(argString(L, 2))), 1),
    get_all_named_header_values: (L) => {
      const want = argString(L, 2).toLowerCase();
      pushStrings(L, MimeHeadersClass.check(L, 1).headers().filter(([n]) => n.toLowerCase() === want).map(([, v]) => v));
      return 1;
    },
    get_all_headers: (L) => {
      const all = MimeHeadersClass.check(L, 1).headers();
      lua.lua_createtable(L, all.length, 0);
      all.forEach((pair, i) => (pushStrings(L, pair), lua.lua_rawseti(L, -2, i + 1)));
      return 1;
    },
  },
});

function pushPart(L: LuaState, node: MimeNode, id = '0'): void {
  MimePartClass.push(L, { node, id });
}

function pushBody(L: LuaState, node: MimeNode): number {
  const body = node.body();
  if (typeof body === 'string') pushText(L, body);
  else pushBytes(L, body);
  return 1;
}

/** A Lua string as a body: text when it is UTF-8 and the part is text, else bytes. */
function bodyArg(L: LuaState, idx: number, node: MimeNode): string | Uint8Array {
  const bytes = argBytes(L, idx);
  const text = node.isText ? decodeUtf8Strict(bytes) : undefined;
  return text ?? bytes;
}

function idsOf(ref: PartRef): Map<MimeNode, string> {
  const ids = new Map<MimeNode, string>();
  const walk = (node: MimeNode, id: string) => {
    ids.set(node, id);
    node.children.forEach((c, i) => walk(c, `${id}.${i}`));
  };
  walk(ref.node, ref.id);
  return ids;
}

export const MimePartClass: LuaClass<PartRef> = new LuaClass<PartRef>({
  name: 'MimePart',
  methods: {
    get_simple_structure: (L) => {
      const ref = MimePartClass.check(L, 1);
      const ids = idsOf(ref);
      const s = simpleStructure(ref.node);
      const setPart = (key: string, node: MimeNode | undefined) => {
        if (!node) return;
        pushPart(L, node, ids.get(node));
        lua.lua_setfield(L, -2, keyBytes(key));
      };
      lua.lua_createtable(L, 0, 5);
      setPart('text_part', s.text);
      setPart('html_part', s.html);
      setPart('amp_html_part', s.ampHtml);
      setPart('header_part', s.header);
      lua.lua_createtable(L, s.attachments.length, 0);
      s.attachments.forEach((a, i) => {
        lua.lua_createtable(L, 0, 4);
        if (a.fileName !== undefined) (pushText(L, a.fileName), lua.lua_setfield(L, -2, keyBytes('file_name')));
        lua.lua_pushboolean(L, a.inline);
        lua.lua_setfield(L, -2, keyBytes('inline'));
        if (a.contentId !== undefined) (pushText(L, a.contentId), lua.lua_setfield(L, -2, keyBytes('content_id')));
        pushPart(L, a.part, ids.get(a.part));
        lua.lua_setfield(L, -2, keyBytes('part'));
        lua.lua_rawseti(L, -2, i + 1);
      });
      lua.lua_setfield(L, -2, keyBytes('attachments'));
      return 1;
    },
    replace_body: (L) => {
      const { node } = MimePartClass.check(L, 1);
      const contentType = optString(L, 3);
      if (contentType !== undefined) node.setHeader('Content-Type', contentType);
      node.setBody(bodyArg(L, 2, node));
      return 0;
    },
    append_part: (L) => {
      MimePartClass.check(L, 1).node.appendPart(MimePartClass.check(L, 2).node);
      return 0;
    },
    rebuild: (L) => (pushPart(L, parseMime(MimePartClass.check(L, 1).node.toBytes())), 1),
  },
  fields: {
    body: (L, ref) => pushBody(L, ref.node),
    headers: (L, ref) => (MimeHeadersClass.push(L, ref.node), 1),
    id: (L, ref) => (pushText(L, ref.id), 1),
  },
  meta: {
    __tostring: (L) => (pushBytes(L, MimePartClass.check(L, 1).node.toBytes()), 1),
    __newindex: (L) => {
      const { node } = MimePartClass.check(L, 1);
      const key = lua.lua_type(L, 2) === LUA_TSTRING ? toText(L, 2) : '?';
      if (key !== 'body') throw new Error(`MimePart: field ${key} cannot be assigned (only body)`);
      node.setBody(bodyArg(L, 3, node));
      return 0;
    },
  },
});

interface Builder {
  spec: MimeBuild;
  built: boolean;
}

function openBuilder(L: LuaState): Builder {
  const b = MimeBuilderClass.check(L, 1);
  if (b.built) throw new Error('MimeBuilder: build() was already called; make a new builder');
  return b;
}

const setText = (key: 'text' | 'html' | 'ampHtml') => (L: LuaState) => {
  const text = decodeUtf8Strict(argBytes(L, 2));
  if (text === undefined) throw new Error('MimeBuilder: text parts must be UTF-8');
  openBuilder(L).spec[key] = text;
  return 0;
};

/** kumo.mimepart.builder(): collects parts, build() makes the MimePart. */
export const MimeBuilderClass: LuaClass<Builder> = new LuaClass<Builder>({
  name: 'MimeBuilder',
  methods: {
    text_plain: setText('text'),
    text_html: setText('html'),
    text_amp_html: setText('ampHtml'),
    attach: (L) => {
      const b = openBuilder(L);
      const contentType = argString(L, 2);
      const data = argBytes(L, 3);
      const opts = lua.lua_isnoneornil(L, 4) ? undefined : new StructReader(L, 4);
      b.spec.attachments.push({
        contentType,
        data: Uint8Array.from(data),
        fileName: opts?.optString('file_name'),
        inline: opts?.optBoolean('inline') ?? false,
        contentId: opts?.optString('content_id'),
      });
      return 0;
    },
    attach_part: (L) => {
      const b = openBuilder(L);
      b.spec.attachments.push(MimePartClass.check(L, 2).node);
      return 0;
    },
    set_stable_content: (L) => {
      openBuilder(L).spec.stable = lua.lua_toboolean(L, 2) as boolean;
      return 0;
    },
    build: (L) => {
      const b = openBuilder(L);
      const root = buildMime(b.spec);
      b.built = true;
      pushPart(L, root);
      return 1;
    },
  },
});

export function pushParsedMime(L: LuaState, data: Uint8Array): void {
  pushPart(L, parseMime(data));
}

/** kumo.mimepart.* constructors. */
export function registerMimePart(kumo: ModuleTable): void {
  const mod = kumo.sub('mimepart');
  const leaf = (contentType: (L: LuaState) => string, bodyIdx: number) => (L: LuaState) => {
    const type = contentType(L);
    const bytes = argBytes(L, bodyIdx);
    const text = type.toLowerCase().startsWith('text/') ? decodeUtf8Strict(bytes) : undefined;
    pushPart(L, newLeaf(type, text ?? bytes));
    return 1;
  };
  mod.fn('parse', (L) => (pushParsedMime(L, toBytes(L, 1)), 1));
  mod.fn('new_text_plain', leaf(() => 'text/plain; charset="utf-8"', 1));
  mod.fn('new_html', leaf(() => 'text/html; charset="utf-8"', 1));
  mod.fn('new_text', leaf((L) => `${argString(L, 1)}; charset="utf-8"`, 2));
  mod.fn('new_binary', leaf((L) => argString(L, 1), 2));
  mod.fn('new_multipart', (L) => {
    const type = argString(L, 1);
    checkTable(L, 2);
    const parts: MimeNode[] = [];
    for (let i = 1; i <= (lua.lua_rawlen(L, 2) as number); i++) {
      lua.lua_rawgeti(L, 2, i);
      parts.push(MimePartClass.check(L, lua.lua_gettop(L)).node);
      lua.lua_pop(L, 1);
    }
    const boundary = optString(L, 3);
    pushPart(L, newMultipart(type, parts, boundary));
    return 1;
  });
  mod.fn('builder', (L) => (MimeBuilderClass.push(L, { spec: { attachments: [], stable: false }, built: false }), 1));
}
