/**
 * The demo's MX: an SMTP server on 127.0.0.1 that accepts every message and
 * writes it to a Maildir, so `npm start` delivers real mail over SMTP
 * without any outside service.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { writeToMaildir } from '../delivery/maildir.ts';
import { selfSignedFor } from '../server/tls.ts';

export interface DemoMx {
  address: string;
  received: number;
  close(): Promise<void>;
}

export async function startDemoMx(listen: string, maildir: string, print: (line: string) => void): Promise<DemoMx> {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
  const state = { received: 0 };
  const server = new SMTPServer({
    ...(await selfSignedFor('localhost')),
    name: 'localhost',
    logger: false,
    authOptional: true,
    disableReverseLookup: true,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const data = Buffer.concat(chunks);
        const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
        writeToMaildir(maildir, data, { kind: 'maildir', maildirPath: maildir, dirMode: null, fileMode: null }, Date.now()).then(
          (id) => {
            state.received++;
            print(`mail for ${to} (${data.length} bytes${session.secure ? ', TLS' : ''}) → ${maildir}/new/${id}`);
            cb(null, `2.0.0 stored as ${id}`);
          },
          (err: Error) => cb(Object.assign(new Error(`4.3.0 cannot store: ${err.message}`), { responseCode: 451 })),
        );
      });
    },
  });
  server.on('error', (err) => print(`error: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.server.address() as AddressInfo;
  return {
    address: `${addr.address}:${addr.port}`,
    get received() {
      return state.received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
