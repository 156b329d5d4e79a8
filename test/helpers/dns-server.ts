/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP) answering from the test
 * resolver's zones, so the real node:dns path is tested without the internet.
 * Names listed in `servfail` get SERVFAIL; unknown names NXDOMAIN.
 */
import { createSocket, type Socket } from 'node:dgram';
import * as packet from 'dns-packet';
import { TestResolver } from '../../src/dns/test-resolver.ts';
import type { DnsRecord, RecordType } from '../../src/dns/types.ts';

export interface LocalDnsServer {
  address: string;
  queries: string[];
  close(): Promise<void>;
}

function toAnswer(name: string, r: DnsRecord): packet.Answer | null {
  const base = { name, ttl: 60, class: 'IN' as const };
  const bare = (n: string) => n.replace(/\.$/, '');
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return { ...base, type: r.type, data: r.address };
    case 'MX':
      return { ...base, type: 'MX', data: { preference: r.preference, exchange: bare(r.exchange) } };
    case 'TXT':
      return { ...base, type: 'TXT', data: r.strings };
    case 'PTR':
    case 'CNAME':
    case 'NS':
      return { ...base, type: r.type, data: bare(r.name) };
    default:
      return null;
  }
}

export async function startDnsServer(zones: string[], servfail: string[] = []): Promise<LocalDnsServer> {
  const resolver = new TestResolver({ zones: zones.map((text) => ({ text, secure: false })), servfail });
  const socket: Socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    const query = packet.decode(msg);
    const q = query.questions![0]!;
    queries.push(`${q.type} ${q.name}`);
    const reply = (rcode: string, answers: packet.Answer[]) => {
      const out = packet.encode({ id: query.id, type: 'response', flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (rcode === 'NXDOMAIN' ? 3 : rcode === 'SERVFAIL' ? 2 : 0), questions: query.questions, answers });
      socket.send(out, rinfo.port, rinfo.address);
    };
    resolver.query(q.name, q.type as RecordType).then(
      (answer) => reply(answer.nxdomain ? 'NXDOMAIN' : 'NOERROR', answer.records.map((r) => toAnswer(q.name, r)).filter((a): a is packet.Answer => a !== null)),
      () => reply('SERVFAIL', []),
    );
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return { address: `127.0.0.1:${port}`, queries, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}
