/**
 * A stand-in shaping daemon on 127.0.0.1 for the shaping helper's tests:
 * serves a shaping file at /get_config_v1/shaping.toml, records what is
 * POSTed to /publish_log_v1, and pushes events to websocket subscribers at
 * /subscribe_event_v1 (or only the legacy /subscribe_suspension_v1).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface ShapingDaemonOptions {
  shapingToml?: string;
  /** Events sent to each subscriber as soon as it connects (JSON-encoded). */
  events?: unknown[];
  /** Serve only the legacy subscription path (the new one answers 404). */
  legacyOnly?: boolean;
}

export class ShapingDaemon {
  readonly published: string[] = [];
  readonly subscriptions: string[] = [];
  shapingToml: string;
  private readonly sockets = new Set<WebSocket>();

  private constructor(
    private readonly server: http.Server,
    private readonly wss: WebSocketServer,
    readonly url: string,
    options: ShapingDaemonOptions,
  ) {
    this.shapingToml = options.shapingToml ?? '';
  }

  static async start(options: ShapingDaemonOptions = {}): Promise<ShapingDaemon> {
    const server = http.createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const daemon = new ShapingDaemon(server, wss, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    const subscribePath = options.legacyOnly ? '/subscribe_suspension_v1' : '/subscribe_event_v1';
    server.on('request', (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/get_config_v1/shaping.toml') {
          res.writeHead(200, { 'content-type': 'application/toml' }).end(daemon.shapingToml);
        } else if (req.method === 'POST' && req.url === '/publish_log_v1') {
          daemon.published.push(body);
          res.writeHead(200).end('recorded');
        } else {
          res.writeHead(404).end('not found');
        }
      });
    });
    server.on('upgrade', (req, socket, head) => {
      if (req.url !== subscribePath) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        daemon.subscriptions.push(req.url!);
        daemon.sockets.add(ws);
        ws.on('close', () => daemon.sockets.delete(ws));
        for (const e of options.events ?? []) ws.send(JSON.stringify(e));
      });
    });
    return daemon;
  }

  /** Sends one event to every connected subscriber. */
  push(event: unknown): void {
    for (const ws of this.sockets) ws.send(JSON.stringify(event));
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
