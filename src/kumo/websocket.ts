/**
 * kumo.http.connect_websocket(url) → stream, response (clients.md §1.8): a
 * receive-only websocket for policies (the shaping helper subscribes to a
 * shaping daemon's events with it). Pings are answered by `ws` and never
 * surface; there is no send and no close, as in KumoMTA.
 */
import type WebSocket from 'ws';
import { lazyRequire } from '../util/lazy-require.ts';
import { lua, type LuaState, LUA_TNUMBER, LUA_TSTRING } from '../lua/fengari.ts';
import { LuaClass } from '../lua/userdata.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { argString } from '../lua/args.ts';
import { pushBytes, toText } from '../lua/strings.ts';
import { parseHumantime } from '../util/duration.ts';
import { HeaderMap, HttpResponse } from '../clients/http/response.ts';
import type { Clock } from '../util/clock.ts';
import type { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { ResponseClass } from './http.ts';

const ws = lazyRequire<typeof WebSocket>('ws');

/** Messages as they arrive, and waiters for the next one. */
class WebSocketStream {
  private readonly queue: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  closed = false;
  error: Error | null = null;

  constructor(readonly socket: WebSocket, private readonly clock: Clock) {
    socket.on('message', (data: WebSocket.RawData) => {
      this.queue.push(new Uint8Array(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)));
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next message, or null once the socket is closed. */
  async recv(): Promise<Uint8Array | null> {
    while (this.queue.length === 0) {
      if (this.error) throw this.error;
      if (this.closed) return null;
      await this.next();
    }
    return this.queue.shift()!;
  }

  /** Everything that arrives within `ms`; raises "websocket closed" if it closed with nothing received. */
  async recvBatch(ms: number): Promise<Uint8Array[]> {
    let expired = false;
    const timer = this.clock.setTimer(ms, () => {
      expired = true;
      this.wake();
    });
    try {
      while (!expired && !this.closed) await this.next();
    } finally {
      timer.cancel();
    }
    const batch = this.queue.splice(0);
    if (batch.length === 0 && this.closed) throw this.error ?? new Error('websocket closed');
    return batch;
  }
}

const StreamClass: LuaClass<WebSocketStream> = new LuaClass<WebSocketStream>({
  name: 'WebSocketStream',
  methods: {
    recv: asyncFunction('WebSocketStream:recv', async (L) => {
      const msg = await StreamClass.check(L, 1).recv();
      return (Lr) => {
        if (msg === null) lua.lua_pushnil(Lr);
        else pushBytes(Lr, msg);
        return 1;
      };
    }),
    recv_batch: asyncFunction('WebSocketStream:recv_batch', async (L) => {
      const stream = StreamClass.check(L, 1);
      const batch = await stream.recvBatch(timeoutArg(L));
      return (Lr) => {
        lua.lua_createtable(Lr, batch.length, 0);
        batch.forEach((m, i) => {
          pushBytes(Lr, m);
          lua.lua_rawseti(Lr, -2, i + 1);
        });
        return 1;
      };
    }),
  },
});

/** A float is seconds, a string is a duration; an integer is refused (as upstream does). */
function timeoutArg(L: LuaState): number {
  const t = lua.lua_type(L, 2);
  if (t === LUA_TNUMBER && !lua.lua_isinteger(L, 2)) return (lua.lua_tonumber(L, 2) as number) * 1000;
  if (t === LUA_TSTRING) return parseHumantime(toText(L, 2));
  throw new Error('invalid timeout duration');
}

function connect(url: string, clock: Clock): Promise<{ stream: WebSocketStream; response: HttpResponse }> {
  if (!/^wss?:\/\//i.test(url)) return Promise.reject(new Error(`URL error: URL scheme not supported: ${url}`));
  return new Promise((resolve, reject) => {
    const socket = new (ws())(url);
    socket.once('upgrade', (res) => {
      const headers = Object.entries(res.headers).flatMap(([k, v]) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).map((x) => [k, Buffer.from(String(x))] as const));
      const response = new HttpResponse(res.statusCode ?? 101, new HeaderMap(headers), Promise.resolve(Buffer.alloc(0)), new URL(url.replace(/^ws/i, 'http')));
      socket.once('open', () => resolve({ stream: new WebSocketStream(socket, clock), response }));
    });
    socket.once('unexpected-response', (_req, res) => {
      reject(new Error(`HTTP error: ${res.statusCode} ${res.statusMessage ?? ''}`.trim()));
      res.resume();
      socket.terminate();
    });
    socket.once('error', (err) => reject(err));
  });
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.sub('http').fn(
    'connect_websocket',
    asyncFunction('kumo.http.connect_websocket', async (L) => {
      const { stream, response } = await connect(argString(L, 1), ctx.clock);
      return (Lr) => {
        StreamClass.push(Lr, stream);
        ResponseClass.push(Lr, response);
        return 2;
      };
    }),
  );
}
