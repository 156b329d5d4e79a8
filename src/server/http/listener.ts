/**
 * `kumo.start_http_listener` (engine.md §8): one node:http(s) server per
 * call; every request is identified, checked against the ACL and routed to
 * liveness, injection, metrics or admin.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { EventRegistry } from '../../kumo/events.ts';
import type { DiagnosticLog } from '../../kumo/diagnostics.ts';
import type { RecordSink } from '../../records/types.ts';
import type { Clock } from '../../util/clock.ts';
import type { JsonValue } from '../../util/json.ts';
import type { AdminOps, MessageIntake, MetricsSource, RunningListener, ServerHealth } from '../ports.ts';
import type { ListenerPolicy } from '../policy-events.ts';
import type { ListenerMetrics } from '../metrics/listener-metrics.ts';
import { renderJson, renderPrometheus } from '../metrics/render.ts';
import { cidrOption, formatSocketAddress, listenOption, machineHostname, OptionReader, plainIp, type CidrSet } from '../options.ts';
import { keySourceOption, loadTlsMaterial, type KeySource } from '../tls.ts';
import { Authenticator, authSummary } from './auth.ts';
import { checkAccess, checkAccessVia, DEFAULT_ACL, type AclLookup, type AclMap } from './acl.ts';
import { InjectHandler } from './inject.ts';
import { AdminApi } from './admin.ts';
import { HttpError, json, readBody, sendReply, text, type HttpReply } from './reply.ts';

export interface HttpListenerConfig {
  listen: { host: string; port: number; text: string };
  useTls: boolean;
  tlsCertificate?: KeySource;
  tlsPrivateKey?: KeySource;
  hostname: string;
  trustedHosts: CidrSet;
  requestBodyLimit: number;
}

export function parseHttpListenerConfig(value: JsonValue | undefined, where = 'kumo.start_http_listener'): HttpListenerConfig {
  const r = OptionReader.of(where, value);
  const config: HttpListenerConfig = {
    listen: listenOption(r, '127.0.0.1:8000'),
    useTls: r.boolean('use_tls', false),
    tlsCertificate: keySourceOption(r, 'tls_certificate'),
    tlsPrivateKey: keySourceOption(r, 'tls_private_key'),
    hostname: r.string('hostname', machineHostname()),
    trustedHosts: cidrOption(r, 'trusted_hosts', ['127.0.0.1', '::1']),
    requestBodyLimit: r.integer('request_body_limit', 2 * 1024 * 1024),
  };
  r.finish();
  return config;
}

export interface HttpListenerDeps {
  events: EventRegistry;
  clock: Clock;
  log: DiagnosticLog;
  policy: ListenerPolicy;
  listenerMetrics: ListenerMetrics;
  /** Required for /api/inject/v1 (503 without). */
  intake?: MessageIntake;
  records?: RecordSink;
  admin?: AdminOps;
  metricsSources?: readonly MetricsSource[];
  health?: ServerHealth;
  acl?: AclMap;
  /** Per-resource ACL source (get_acl_definition, then the default map); wins over `acl`. */
  aclLookup?: AclLookup;
}

const KNOWN_ROUTES: Record<string, string[]> = {
  '/api/check-liveness/v1': ['GET'],
  '/api/inject/v1': ['POST'],
  '/metrics': ['GET'],
  '/metrics.json': ['GET'],
  '/api/admin/bounce/v1': ['GET', 'POST', 'DELETE'],
  '/api/admin/suspend/v1': ['GET', 'POST', 'DELETE'],
  '/api/admin/suspend-ready-q/v1': ['GET', 'POST', 'DELETE'],
  '/api/admin/rebind/v1': ['POST'],
  '/api/admin/inspect-sched-q/v1': ['GET'],
  '/api/admin/ready-q-states/v1': ['GET'],
  '/api/admin/inspect-message/v1': ['GET'],
};

export class HttpListener implements RunningListener {
  readonly kind = 'http' as const;
  private readonly auth: Authenticator;
  private readonly admin: AdminApi;
  private readonly inject: InjectHandler | null;

  private constructor(
    private readonly server: http.Server | https.Server,
    readonly config: HttpListenerConfig,
    private readonly deps: HttpListenerDeps,
  ) {
    this.auth = new Authenticator(deps.events, deps.clock);
    this.admin = new AdminApi(deps.admin, deps.clock);
    this.inject =
      deps.intake && deps.records
        ? new InjectHandler({ intake: deps.intake, records: deps.records, policy: deps.policy, metrics: deps.listenerMetrics, clock: deps.clock, health: deps.health })
        : null;
  }

  static async start(config: HttpListenerConfig, deps: HttpListenerDeps): Promise<HttpListener> {
    let server: http.Server | https.Server;
    if (config.useTls) {
      const tls = await loadTlsMaterial('kumo.start_http_listener', config.hostname, config.tlsCertificate, config.tlsPrivateKey);
      server = https.createServer({ cert: tls.cert, key: tls.key });
    } else {
      server = http.createServer();
    }
    const listener = new HttpListener(server, config, deps);
    server.on('request', (req, res) => void listener.onRequest(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    deps.log.write('info', `http listener on ${listener.address} (${config.useTls ? 'https' : 'http'})`);
    return listener;
  }

  /** The bound "ip:port" (port 0 resolved). */
  get address(): string {
    const a = this.server.address() as AddressInfo;
    return formatSocketAddress(a.address, a.port);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Base URL for clients, e.g. `http://127.0.0.1:34567`. */
  get url(): string {
    return `${this.config.useTls ? 'https' : 'http'}://${this.address}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections?.();
    });
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let reply: HttpReply;
    try {
      reply = await this.handle(req);
    } catch (e) {
      if (e instanceof HttpError) reply = e.toReply();
      else {
        this.deps.log.write('error', `http listener ${this.address}: ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
        reply = text(500, `Error: ${(e as Error).message}`);
      }
    }
    try {
      await sendReply(req, res, reply);
    } catch (e) {
      res.destroy(e as Error);
    }
  }

  private async handle(req: http.IncomingMessage): Promise<HttpReply> {
    const url = new URL(req.url ?? '/', 'http://listener');
    const method = (req.method ?? 'GET').toUpperCase();
    const methods = KNOWN_ROUTES[url.pathname];
    if (!methods) return text(404, 'Not Found');
    if (!methods.includes(method)) return text(405, 'Method Not Allowed');

    const peerIp = plainIp(req.socket.remoteAddress ?? '');
    const trusted = this.config.trustedHosts.contains(peerIp);
    const who = await this.auth.identify(peerIp, trusted, req.headers.authorization);
    const decision = this.deps.aclLookup
      ? await checkAccessVia(this.deps.aclLookup, this.config.listen.text, url.pathname, method, who, authSummary(who))
      : checkAccess(this.deps.acl ?? DEFAULT_ACL, this.config.listen.text, url.pathname, method, who, authSummary(who));
    if (!decision.allowed) return text(401, decision.reason);

    const body = async () => (await readBody(req, this.config.requestBodyLimit)).toString('utf8');
    switch (url.pathname) {
      case '/api/check-liveness/v1': {
        const reason = this.deps.health?.unavailableReason();
        return reason ? text(503, reason) : text(200, 'OK');
      }
      case '/api/inject/v1': {
        if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) {
          throw new HttpError(415, 'Expected request with `Content-Type: application/json`', { plain: true });
        }
        if (!this.inject) throw new HttpError(503, 'message intake is not available');
        const local = req.socket.localAddress ?? '';
        const result = await this.inject.handle(await readBody(req, this.config.requestBodyLimit), {
          peerIp,
          localIp: plainIp(local),
          hostname: this.config.hostname,
          machineHostname: machineHostname(),
          auth: who,
        });
        return json(200, result);
      }
      case '/metrics':
        return { status: 200, contentType: 'text/plain; charset=utf-8', body: await renderPrometheus(this.families(), url.searchParams.get('prefix') ?? '') };
      case '/metrics.json':
        return json(200, renderJson(this.families()));
    }
    const admin = await this.admin.route(method, url.pathname, url.searchParams, body);
    return admin ?? text(404, 'Not Found');
  }

  private families() {
    return [this.deps.listenerMetrics, ...(this.deps.metricsSources ?? [])].flatMap((s) => s.collect());
  }
}
