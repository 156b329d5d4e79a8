/**
 * The Lua handle of a mock MX (`t.smtp(name, options)`): script its replies
 * with `defer` / `reject` / `accept`, read what it received with
 * `transactions`, `delivered` and `connections`.
 */
import { lua, type LuaState } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { checkTable, isNoneOrNil } from '../lua/args.ts';
import { pushJson, toJson } from '../lua/marshal.ts';
import { isJsonObject, jsonNumber, type JsonObject, type JsonValue } from '../util/json.ts';
import { defaultRcptRule, type MockMx, type MockMxOptions, type MxReply, type MxTransaction } from './mock-mx.ts';

interface Rule {
  at: 'mail' | 'rcpt' | 'data';
  match: string | null;
  reply: MxReply;
}

const rules = new WeakMap<MockMx, Rule[]>();

const RULE_KEYS = new Set(['at', 'match', 'code', 'text']);

function parseRule(value: JsonValue, dflt: MxReply): Rule {
  if (!isJsonObject(value)) throw new Error("a rule is a table like { match = 'bob@', at = 'rcpt', code = 451, text = '4.2.1 busy' }");
  for (const key of Object.keys(value)) if (!RULE_KEYS.has(key)) throw new Error(`unknown rule field '${key}', expected at, match, code or text`);
  const at = value.at ?? 'rcpt';
  if (at !== 'mail' && at !== 'rcpt' && at !== 'data') throw new Error(`rule 'at' must be 'mail', 'rcpt' or 'data', got ${JSON.stringify(at)}`);
  const code = value.code === undefined ? dflt.code : jsonNumber(value.code);
  if (code === undefined || !Number.isInteger(code) || code < 400 || code > 599) throw new Error(`rule 'code' must be a 4xx or 5xx SMTP code, got ${JSON.stringify(value.code)}`);
  if (value.match !== undefined && typeof value.match !== 'string') throw new Error("rule 'match' must be a string (a part of the address)");
  return { at, match: value.match ?? null, reply: { code, text: typeof value.text === 'string' ? value.text : dflt.text } };
}

function install(mx: MockMx): void {
  const list = (rules.get(mx) ?? []);
  rules.set(mx, list);
  const find = (at: Rule['at'], addrs: string[]) => list.find((r) => r.at === at && (r.match === null || addrs.some((a) => a.toLowerCase().includes(r.match!.toLowerCase()))))?.reply ?? null;
  mx.onMail = (sender) => find('mail', [sender]);
  mx.onRcpt = (rcpt, sender) => find('rcpt', [rcpt]) ?? defaultRcptRule(rcpt, sender);
  mx.onData = (tx) => find('data', tx.recipients);
}

/** `t.smtp` options: `{ starttls = false, pipelining = false, eightbitmime = false, smtputf8 = false, auth = { username, password } }`. */
export function parseMockMxOptions(value: JsonValue | undefined): MockMxOptions {
  if (value === undefined) return {};
  if (!isJsonObject(value)) throw new Error('t.smtp options must be a table');
  const known = ['starttls', 'pipelining', 'eightbitmime', 'smtputf8', 'auth'];
  for (const key of Object.keys(value)) if (!known.includes(key)) throw new Error(`unknown t.smtp option '${key}', expected one of ${known.join(', ')}`);
  const bool = (k: string) => (value[k] === undefined ? undefined : value[k] === true);
  const out: MockMxOptions = {};
  if (bool('starttls') !== undefined) out.starttls = bool('starttls')!;
  if (bool('pipelining') !== undefined) out.pipelining = bool('pipelining')!;
  if (bool('eightbitmime') !== undefined) out.eightBitMime = bool('eightbitmime')!;
  if (bool('smtputf8') !== undefined) out.smtpUtf8 = bool('smtputf8')!;
  const auth = value.auth;
  if (auth !== undefined) {
    if (!isJsonObject(auth) || typeof auth.username !== 'string' || typeof auth.password !== 'string') throw new Error("t.smtp option 'auth' must be { username = '...', password = '...' }");
    out.auth = { username: auth.username, password: auth.password };
  }
  return out;
}

function transactionJson(t: MxTransaction): JsonObject {
  return {
    sender: t.sender, recipients: t.recipients, refused: t.refused.map((r) => ({ recipient: r.recipient, code: r.code })),
    data: t.data.toString('utf8'), tls: t.tls, params: t.mailParams as JsonObject, user: t.user, code: t.finalCode, connection: t.connection + 1,
  };
}

function addRule(L: LuaState, dflt: MxReply): number {
  const mx = MockMxClass.check(L, 1);
  const spec = isNoneOrNil(L, 2) ? {} : (checkTable(L, 2), toJson(L, 2));
  rules.get(mx)!.push(parseRule(spec, dflt));
  lua.lua_pushvalue(L, 1);
  return 1;
}

export const MockMxClass: LuaClass<MockMx> = new LuaClass<MockMx>({
  name: 'MockMx',
  methods: {
    defer: (L) => addRule(L, { code: 451, text: '4.3.0 try again later' }),
    reject: (L) => addRule(L, { code: 550, text: '5.1.1 rejected' }),
    accept: (L) => {
      rules.get(MockMxClass.check(L, 1))!.length = 0;
      lua.lua_pushvalue(L, 1);
      return 1;
    },
    transactions: (L) => (pushJson(L, MockMxClass.check(L, 1).transactions.map(transactionJson)), 1),
    delivered: (L) => (pushJson(L, MockMxClass.check(L, 1).delivered().map(transactionJson)), 1),
    connections: (L) => (lua.lua_pushinteger(L, MockMxClass.check(L, 1).connections.length), 1),
    tls_connections: (L) => (lua.lua_pushinteger(L, MockMxClass.check(L, 1).connections.filter((c) => c.tls).length), 1),
  },
});

/** Makes `mx` follow the rules its Lua handle adds. */
export function scriptable(mx: MockMx): MockMx {
  install(mx);
  return mx;
}
