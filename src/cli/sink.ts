/**
 * `kumo-lua sink`: a webhook receiver for trying things out. Each POSTed body
 * may hold one record, a JSON array of records (batched hooks) or JSON lines;
 * every record is printed compactly on its own line, with running counts.
 */
import http from 'node:http';
import { parseListen } from '../util/listen.ts';

export interface SinkStats {
  requests: number;
  records: number;
  byType: Map<string, number>;
}

/** Splits a request body into records; non-JSON bodies count as one opaque record. */
export function recordsInBody(body: string): unknown[] {
  const trimmed = body.trim();
  if (trimmed === '') return [];
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    const lines = trimmed.split('\n');
    try {
      return lines.map((l) => JSON.parse(l) as unknown);
    } catch {
      return [trimmed];
    }
  }
}

function describe(record: unknown): { type: string; line: string } {
  if (typeof record === 'object' && record !== null) {
    const r = record as Record<string, unknown>;
    return { type: String(r.type ?? 'unknown'), line: JSON.stringify(record) };
  }
  return { type: 'text', line: String(record) };
}

export function startSink(listen: string, status: number, print: (line: string) => void): Promise<{ server: http.Server; stats: SinkStats; address: string }> {
  const { host, port } = parseListen(listen);
  const stats: SinkStats = { requests: 0, records: 0, byType: new Map() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      stats.requests++;
      for (const record of recordsInBody(Buffer.concat(chunks).toString('utf8'))) {
        const { type, line } = describe(record);
        stats.records++;
        stats.byType.set(type, (stats.byType.get(type) ?? 0) + 1);
        const counts = [...stats.byType].map(([t, n]) => `${t}=${n}`).join(' ');
        print(`${line}\n  [${req.method} ${req.url}] records=${stats.records} ${counts}`);
      }
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok\n' : `sink answering ${status}\n`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const address = typeof addr === 'object' && addr ? `${addr.address}:${addr.port}` : listen;
      resolve({ server, stats, address });
    });
  });
}

/** "cannot listen on ADDR: address already in use", or the error's own message. */
export function listenFailure(what: string, listen: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'EADDRINUSE' ? 'the address is already in use' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  return `${what}: cannot listen on ${listen}: ${why}`;
}

/** Resolves on the first SIGTERM or SIGINT. */
export function firstSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals = ['SIGTERM', 'SIGINT'] as const;
    const on = (s: NodeJS.Signals) => {
      for (const x of signals) process.off(x, on);
      resolve(s);
    };
    for (const s of signals) process.on(s, on);
  });
}

/** Stops accepting and drops idle keep-alive sockets, so the process can exit. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function runSinkCommand(listen: string, status: number): Promise<number> {
  let server: http.Server;
  try {
    const started = await startSink(listen, status, (line) => process.stdout.write(line + '\n'));
    server = started.server;
    process.stdout.write(`kumo-lua sink listening on http://${started.address}/ (answering ${status})\n`);
  } catch (e) {
    process.stderr.write(listenFailure('kumo-lua sink', listen, e) + ' (choose another with --listen HOST:PORT)\n');
    return 1;
  }
  await firstSignal();
  await closeServer(server);
  return 0;
}
