/**
 * The SMTP connection's metadata (`conn_meta` in policy): copied into every
 * message received on the connection; `get_meta`/`set_meta` use the same
 * value conversion as the Message methods (lua-api.md §3.7, §14).
 */
import { LuaClass } from '../../lua/userdata.ts';
import { argString } from '../../lua/args.ts';
import { pushJson, toJson } from '../../lua/marshal.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../util/json.ts';

/** Deep copy that keeps JsonFloat boxes (structuredClone would strip their class). */
export function cloneJson<T extends JsonValue>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T;
  if (isJsonObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneJson(x)])) as T;
  return v;
}

export class ConnectionMeta {
  readonly meta: JsonObject = {};
  /** `{peer_address, identities, groups}` for conn_meta:auth_info(). */
  authInfo: JsonObject;

  constructor(initial: JsonObject, peerIp: string) {
    Object.assign(this.meta, initial);
    this.authInfo = { peer_address: peerIp, identities: [], groups: [] };
  }

  get(key: string): JsonValue | undefined {
    return this.meta[key];
  }

  set(key: string, value: JsonValue): void {
    this.meta[key] = value;
  }

  /** A copy for a new message's meta. */
  snapshot(): JsonObject {
    return cloneJson(this.meta);
  }
}

export const ConnectionMetaClass = new LuaClass<ConnectionMeta>({
  name: 'ConnectionMeta',
  methods: {
    get_meta: (L) => {
      const self = ConnectionMetaClass.check(L, 1);
      pushJson(L, self.get(argString(L, 2)), { arrayMarker: true });
      return 1;
    },
    set_meta: (L) => {
      const self = ConnectionMetaClass.check(L, 1);
      self.set(argString(L, 2), toJson(L, 3));
      return 0;
    },
    auth_info: (L) => {
      pushJson(L, ConnectionMetaClass.check(L, 1).authInfo, { arrayMarker: true });
      return 1;
    },
  },
});
