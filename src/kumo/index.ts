/**
 * Assembles the `kumo` module for one Lua state: one file per sub-module, each
 * with a `register(kumo, ctx)` (like KumoMTA's mod-* crates). The result is
 * `package.loaded.kumo`; `kumo` is deliberately not a global, as in KumoMTA.
 */
import { ModuleTable } from './module-table.ts';
import type { KumoContext } from './context.ts';
import { installUnsupportedStubs } from './unsupported.ts';
import * as reject from './reject.ts';
import * as diagnostics from './diagnostics.ts';
import * as serde from './serde.ts';
import * as string from './string.ts';
import * as time from './time.ts';
import * as digest from './digest.ts';
import * as encode from './encode.ts';
import * as crypto from './crypto.ts';
import * as regex from './regex.ts';
import * as secrets from './secrets.ts';
import * as uuid from './uuid.ts';
import * as memoize from './memoize.ts';
import * as http from './http.ts';
import * as kafka from './kafka.ts';
import * as amqp from './amqp.ts';
import * as message from './message.ts';
import * as config from './config.ts';
import * as logging from './logging.ts';
import * as listeners from './listeners.ts';
import * as shaping from './shaping.ts';
import * as websocket from './websocket.ts';

type Registrar = (kumo: ModuleTable, ctx: KumoContext) => void;

const SUBMODULES: Registrar[] = [
  reject.register,
  diagnostics.register,
  serde.register,
  string.register,
  time.register,
  digest.register,
  encode.register,
  crypto.register,
  regex.register,
  secrets.register,
  uuid.register,
  memoize.register,
  http.register,
  kafka.register,
  amqp.register,
  message.register,
  config.register,
  logging.register,
  listeners.register,
  shaping.register,
  websocket.register,
];

/** Builds `kumo` in the context's Lua state and installs it as package.loaded.kumo. */
export function installKumoModule(ctx: KumoContext): ModuleTable {
  const runtime = ctx.runtime;
  const kumo = ModuleTable.create(runtime, 'kumo');
  ctx.events.bind(kumo, ctx);
  for (const register of SUBMODULES) register(kumo, ctx);
  installUnsupportedStubs(runtime, kumo);

  kumo.installAs('kumo');
  return kumo;
}
