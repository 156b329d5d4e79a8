/**
 * The Message object as Lua sees it (lua-api.md §11). Sync/async split per
 * §16: id, num_attempts, increment_num_attempts, set_data and set_force_sync
 * are plain functions; every other method is async like KumoMTA's: it cannot
 * be called from a table.sort comparator. get_meta, set_meta and get_data
 * answer without suspending the coroutine when the meta/data is in memory
 * (a yield and resume per call cost more than the work); the others yield.
 *
 * Methods that need the engine (save/shrink) or the clock find the
 * KumoContext through the registry (lua-context.ts).
 */
import { lua, type LuaCFunction, type LuaState, LUA_TSTRING, LUA_TTABLE } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { asyncFunction, type LuaReturn } from '../lua/host-function.ts';
import { argBoolean, argBytes, argString, checkTable, isNoneOrNil, optString, typeNameOrNone } from '../lua/args.ts';
import { LUA_NULL, pushJson, pushNumber, toJson } from '../lua/marshal.ts';
import { pushBytes, pushText } from '../lua/strings.ts';
import type { JsonValue } from '../util/json.ts';
import { Message } from './message.ts';
import { parseEnvelopeAddress } from './address.ts';
import { EnvelopeAddressClass, pushEnvelopeAddress } from './envelope-binding.ts';
import { allDecodedHeaders, decodedValuesNamed, headerLine } from './header-codec.ts';
import { insertAtStart, insertBeforeSeparator, withoutHeaders } from './headers.ts';
import { importHeaders, parseImportSpec, withoutXHeaders, xHeadersToImport } from './header-import.ts';
import { effectiveDue, formatRfc3339Utc, parseRfc3339 } from './scheduling.ts';
import { checkFixConformance } from './conformance.ts';
import { MESSAGE_SAVER, setForceSync } from './store-slot.ts';
import { messageContext } from './lua-context.ts';
import { authMethods } from './auth-methods.ts';
import { schedulingMethods } from './scheduling-binding.ts';
import { addressMethods } from './address-binding.ts';
import { mimeMethods } from './mime-binding.ts';
import { reportMethods } from './report-binding.ts';

export { EnvelopeAddressClass, pushEnvelopeAddress };

/** The work of an async method, run after the caller has yielded; args are already read. */
export type Work = () => LuaReturn | void | Promise<LuaReturn | void>;

/**
 * An async method. `read` runs synchronously inside the C call, so argument
 * errors are raised as ordinary Lua errors; `Work` runs after the yield.
 */
function asyncMethod(name: string, read: (L: LuaState, msg: Message) => Work): LuaCFunction {
  return asyncFunction(`Message:${name}`, (L: LuaState) => {
    const msg = MessageClass.check(L, 1);
    const work = read(L, msg);
    return Promise.resolve().then(work);
  });
}

/** How method files outside this one build their async methods. */
export type MethodMaker = typeof asyncMethod;

const one = (push: (L: LuaState) => void): LuaReturn => (L) => (push(L), 1);

function pushStringArray(L: LuaState, items: readonly string[]): void {
  lua.lua_createtable(L, items.length, 0);
  items.forEach((s, i) => (pushText(L, s), lua.lua_rawseti(L, -2, i + 1)));
}

function pushAddressArray(L: LuaState, emails: readonly string[]): void {
  lua.lua_createtable(L, emails.length, 0);
  emails.forEach((e, i) => (pushEnvelopeAddress(L, parseEnvelopeAddress(e)), lua.lua_rawseti(L, -2, i + 1)));
}

/** nil/none/empty table -> []; otherwise an array of strings. */
function readNameList(L: LuaState, idx: number, what: string): string[] {
  if (isNoneOrNil(L, idx)) return [];
  checkTable(L, idx);
  const n = lua.lua_rawlen(L, idx) as number;
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    lua.lua_rawgeti(L, idx, i);
    if (lua.lua_type(L, -1) !== LUA_TSTRING) throw new Error(`${what}: entry ${i} must be a string, got ${typeNameOrNone(L, -1)}`);
    out.push(argString(L, lua.lua_gettop(L)));
    lua.lua_pop(L, 1);
  }
  return out;
}

/** An envelope address argument: strings only (KumoMTA's serde path rejects other values). */
function readAddress(L: LuaState, idx: number, what: string): string {
  if (lua.lua_type(L, idx) !== LUA_TSTRING) {
    throw new Error(`${what}: expected an address string, got ${typeNameOrNone(L, idx)} (pass addr.email or tostring(addr) for an EnvelopeAddress)`);
  }
  return parseEnvelopeAddress(argString(L, idx)).email;
}

function readRecipients(L: LuaState, idx: number): string[] {
  if (lua.lua_type(L, idx) === LUA_TTABLE) {
    const n = lua.lua_rawlen(L, idx) as number;
    const out: string[] = [];
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, idx, i);
      out.push(readAddress(L, lua.lua_gettop(L), `set_recipient: entry ${i}`));
      lua.lua_pop(L, 1);
    }
    return out;
  }
  return [readAddress(L, idx, 'set_recipient')];
}

function nowMs(L: LuaState): number {
  return messageContext(L)?.clock.now() ?? Date.now();
}

type Saver = (msg: Message) => Promise<void>;

/** Read while the call is still on the Lua stack: never touch L from the async part. */
function saverFor(L: LuaState): Saver | undefined {
  return messageContext(L)?.optional(MESSAGE_SAVER);
}

/** Writes dirty meta/data through the spool; without a spool the message is just marked clean. */
async function saveIfDirty(saver: Saver | undefined, msg: Message): Promise<void> {
  if (!msg.metaDirty && !msg.dataDirty) return;
  if (msg.isDataLoaded() && msg.getData().length === 0) throw new Error(`cannot save message ${msg.id}: its data is empty`);
  if (saver) {
    await saver(msg);
  } else {
    msg.metaDirty = false;
    msg.dataDirty = false;
  }
}

function replaceData(msg: Message, data: Uint8Array | undefined): void {
  if (data !== undefined) msg.setData(data);
}

function pushDue(L: LuaState, due: number | null): void {
  if (due === null) lua.lua_pushlightuserdata(L, LUA_NULL);
  else pushText(L, formatRfc3339Utc(due));
}

/** get_meta of a shrunk message: the meta comes back from the spool first. */
const getMetaAfterLoad: LuaCFunction = asyncMethod('get_meta', (L, msg) => {
  const key = argString(L, 2);
  return () => {
    const v = msg.getMeta(key);
    return one((Lr) => pushJson(Lr, v, { arrayMarker: true }));
  };
});

/** set_meta of a shrunk message: the meta comes back from the spool first. */
const setMetaAfterLoad: LuaCFunction = asyncMethod('set_meta', (L, msg) => {
  const key = argString(L, 2);
  const value: JsonValue = toJson(L, 3, { keepArrayMarker: true });
  return () => msg.setMeta(key, value);
});

/** get_data of a message whose data was shrunk away: it comes back from the spool first. */
const getDataAfterLoad: LuaCFunction = asyncMethod('get_data', (_L, msg) => () => {
  const data = msg.getData();
  return one((L) => pushBytes(L, data));
});

const methods: Record<string, LuaCFunction> = {
  id: (L) => (pushText(L, MessageClass.check(L, 1).id), 1),
  num_attempts: (L) => (pushNumber(L, MessageClass.check(L, 1).numAttempts), 1),
  increment_num_attempts: (L) => {
    MessageClass.check(L, 1).numAttempts += 1;
    return 0;
  },
  set_data: (L) => {
    const msg = MessageClass.check(L, 1);
    msg.setData(new Uint8Array(argBytes(L, 2)));
    return 0;
  },
  set_force_sync: (L) => {
    setForceSync(MessageClass.check(L, 1), argBoolean(L, 2));
    return 0;
  },

  sender: asyncMethod('sender', (_L, msg) => () => one((L) => pushEnvelopeAddress(L, parseEnvelopeAddress(msg.sender)))),
  recipient: asyncMethod('recipient', (_L, msg) => () => {
    const r = [...msg.recipients];
    return (L) => {
      if (r.length === 0) lua.lua_pushnil(L);
      else if (r.length === 1) pushEnvelopeAddress(L, parseEnvelopeAddress(r[0]!));
      else pushAddressArray(L, r);
      return 1;
    };
  }),
  recipient_list: asyncMethod('recipient_list', (_L, msg) => () => {
    const r = [...msg.recipients];
    return one((L) => pushAddressArray(L, r));
  }),
  set_sender: asyncMethod('set_sender', (L, msg) => {
    const sender = readAddress(L, 2, 'set_sender');
    return () => {
      msg.sender = sender;
      msg.metaDirty = true;
    };
  }),
  set_recipient: asyncMethod('set_recipient', (L, msg) => {
    const recipients = readRecipients(L, 2);
    return () => {
      msg.recipients = recipients;
      msg.metaDirty = true;
    };
  }),
  queue_name: asyncMethod('queue_name', (_L, msg) => () => {
    const name = msg.queueName();
    return one((L) => pushText(L, name));
  }),

  get_meta: (L) => {
    const msg = MessageClass.check(L, 1);
    // Meta in memory (the usual case) is answered without suspending the
    // coroutine: a yield and resume per call cost more than the lookup. It
    // stays an async method for Lua: where Lua cannot yield it still raises.
    if (!msg.metaInMemory || !lua.lua_isyieldable(L)) return getMetaAfterLoad(L);
    pushJson(L, msg.getMeta(argString(L, 2)), { arrayMarker: true });
    return 1;
  },
  set_meta: (L) => {
    const msg = MessageClass.check(L, 1);
    // As get_meta: meta in memory is changed without suspending the coroutine.
    if (!msg.metaInMemory || !lua.lua_isyieldable(L)) return setMetaAfterLoad(L);
    const key = argString(L, 2);
    const value: JsonValue = toJson(L, 3, { keepArrayMarker: true });
    msg.setMeta(key, value);
    return 0;
  },

  get_data: (L) => {
    const msg = MessageClass.check(L, 1);
    // As get_meta: data in memory is answered without suspending the coroutine.
    if (!msg.isDataLoaded() || !lua.lua_isyieldable(L)) return getDataAfterLoad(L);
    pushBytes(L, msg.getData());
    return 1;
  },
  get_first_named_header_value: asyncMethod('get_first_named_header_value', (L, msg) => {
    const name = argString(L, 2);
    return () => {
      const v = decodedValuesNamed(msg.getData(), name)[0];
      return one((Lr) => (v === undefined ? lua.lua_pushnil(Lr) : pushText(Lr, v)));
    };
  }),
  get_all_named_header_values: asyncMethod('get_all_named_header_values', (L, msg) => {
    const name = argString(L, 2);
    return () => {
      const values = decodedValuesNamed(msg.getData(), name);
      return one((Lr) => pushStringArray(Lr, values));
    };
  }),
  get_all_headers: asyncMethod('get_all_headers', (_L, msg) => () => {
    const pairs = allDecodedHeaders(msg.getData());
    return one((L) => {
      lua.lua_createtable(L, pairs.length, 0);
      pairs.forEach((p, i) => (pushStringArray(L, p), lua.lua_rawseti(L, -2, i + 1)));
    });
  }),
  append_header: asyncMethod('append_header', (L, msg) => {
    const line = headerLine(argString(L, 2), argString(L, 3), argBoolean(L, 4));
    return () => msg.setData(insertBeforeSeparator(msg.getData(), line));
  }),
  prepend_header: asyncMethod('prepend_header', (L, msg) => {
    const line = headerLine(argString(L, 2), argString(L, 3), argBoolean(L, 4));
    return () => msg.setData(insertAtStart(msg.getData(), line));
  }),
  remove_all_named_headers: asyncMethod('remove_all_named_headers', (L, msg) => {
    const name = argString(L, 2).toLowerCase();
    return () => replaceData(msg, withoutHeaders(msg.getData(), (h) => h.name.toLowerCase() === name));
  }),
  remove_x_headers: asyncMethod('remove_x_headers', (L, msg) => {
    const names = readNameList(L, 2, 'remove_x_headers');
    return () => replaceData(msg, withoutXHeaders(msg.getData(), names));
  }),
  import_x_headers: asyncMethod('import_x_headers', (L, msg) => {
    const names = readNameList(L, 2, 'import_x_headers');
    return () => {
      for (const [k, v] of xHeadersToImport(msg.getData(), names)) msg.setMeta(k, v);
    };
  }),
  import_headers: asyncMethod('import_headers', (L, msg) => {
    checkTable(L, 2);
    const raw = toJson(L, 2);
    const list = Array.isArray(raw) ? raw : [];
    const specs = list.map((v, i) => parseImportSpec(v, i + 1));
    return () => {
      const result = importHeaders(msg.getData(), specs);
      for (const [k, v] of result.meta) msg.setMeta(k, v);
      replaceData(msg, result.data);
    };
  }),
  check_fix_conformance: asyncMethod('check_fix_conformance', (L, msg) => {
    const checks = argString(L, 2);
    const fixes = argString(L, 3);
    const settings = isNoneOrNil(L, 4) ? null : toJson(L, 4);
    const now = nowMs(L);
    return () => {
      const outcome = checkFixConformance(msg.getData(), { checks, fixes, settings, nowMs: now, messageId: msg.id });
      replaceData(msg, outcome.data);
      return one((L2) => (outcome.error === undefined ? lua.lua_pushnil(L2) : pushText(L2, outcome.error)));
    };
  }),

  set_due: asyncMethod('set_due', (L, msg) => {
    const text = optString(L, 2);
    const due = text === undefined ? null : parseRfc3339(text, 'set_due');
    const now = nowMs(L);
    return () => {
      msg.due = effectiveDue(due, msg.scheduling, now);
      const d = msg.due;
      return one((L2) => pushDue(L2, d));
    };
  }),
  save: asyncMethod('save', (L, msg) => {
    const saver = saverFor(L);
    return () => saveIfDirty(saver, msg);
  }),
  shrink: asyncMethod('shrink', (L, msg) => {
    const saver = saverFor(L);
    return async () => {
    await saveIfDirty(saver, msg);
    const shrunk = msg.shrink();
    return one((L2) => lua.lua_pushboolean(L2, shrunk));
    };
  }),
  shrink_data: asyncMethod('shrink_data', (L, msg) => {
    const saver = saverFor(L);
    return async () => {
    await saveIfDirty(saver, msg);
    const shrunk = msg.shrinkData();
    return one((L2) => lua.lua_pushboolean(L2, shrunk));
    };
  }),
  ...authMethods(asyncMethod),
  ...schedulingMethods(asyncMethod),
  ...addressMethods(asyncMethod),
  ...mimeMethods(asyncMethod),
  ...reportMethods((L, idx) => MessageClass.check(L, idx)),
};

export const MessageClass: LuaClass<Message> = new LuaClass<Message>({
  name: 'Message',
  methods,
  meta: {
    __tostring: (L) => (pushText(L, `Message(${MessageClass.check(L, 1).id})`), 1),
  },
});

export function pushMessage(L: LuaState, msg: Message): void {
  MessageClass.push(L, msg);
}

/** The Message at idx, or a Lua argument error ("Message expected"). */
export function checkMessage(L: LuaState, idx: number): Message {
  return MessageClass.check(L, idx);
}

export function testMessage(L: LuaState, idx: number): Message | undefined {
  return MessageClass.test(L, idx);
}
