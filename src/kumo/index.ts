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
import * as dns from './dns.ts';
import * as domainMap from './domain-map.ts';
import * as cidr from './cidr.ts';
import * as regexSetMap from './regex-set-map.ts';
import * as throttle from './throttle.ts';
import * as bounce from './bounce.ts';
import * as dkim from './dkim.ts';
import * as spf from './spf.ts';
import * as dmarc from './dmarc.ts';
import * as mimepart from './mimepart.ts';
import * as egress from './egress.ts';
import * as epoch from './epoch.ts';
import * as tasks from './tasks.ts';
import * as invoke from './invoke.ts';
import * as knobs from './knobs.ts';
import * as aaa from './aaa.ts';
import * as adminApi from './admin-api.ts';
import * as injectApi from './inject-api.ts';
import * as fs from './fs.ts';
import * as counterSeries from './counter-series.ts';
import * as mpsc from './mpsc.ts';
import * as shaping from './shaping.ts';
import * as websocket from './websocket.ts';
import * as fileType from './file-type.ts';
import * as prometheus from './prometheus.ts';
import * as jsonl from './jsonl.ts';
import * as sqlite from './sqlite.ts';
import * as xfer from './xfer.ts';

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
  dns.register,
  domainMap.register,
  cidr.register,
  regexSetMap.register,
  throttle.register,
  bounce.register,
  dkim.register,
  spf.register,
  dmarc.register,
  mimepart.register,
  egress.register,
  epoch.register,
  tasks.register,
  invoke.register,
  knobs.register,
  aaa.register,
  adminApi.register,
  injectApi.register,
  fs.register,
  counterSeries.register,
  mpsc.register,
  shaping.register,
  websocket.register,
  fileType.register,
  prometheus.register,
  jsonl.register,
  sqlite.register,
  xfer.register,
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
