/**
 * A hand-written SMTP server for transcript tests: records every chunk the
 * client wrote (to see pipelined bursts) and every command line, and answers
 * through a script, so replies can be anything (bare 452, multi-line,
 * malformed, over-long).
 */
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';

export type Script = (line: string, state: { connection: number; transaction: number }) => string | null;

export class RawMx {
  readonly chunks: string[] = [];
  readonly lines: string[] = [];
  readonly payloads: string[] = [];
  connections = 0;
  ehlo = '250-raw.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n';
  greeting = '220 raw.test ESMTP\r\n';
  script: Script = () => null;
  /** Set to offer STARTTLS with this certificate; `ehloAfterTls` answers EHLO once upgraded. */
  tls: { cert: string; key: string } | null = null;
  ehloAfterTls = '250-raw.test\r\n250 8BITMIME\r\n';
  private sockets = new Set<net.Socket>();
  private server = net.createServer((s) => {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    this.serve(s);
  });

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return this;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private serve(raw: net.Socket): void {
    let sock: net.Socket = raw;
    let secure = false;
    const state = { connection: this.connections++, transaction: 0 };
    let buf = '';
    let inData = false;
    let data = '';
    raw.on('error', () => undefined);
    raw.write(this.greeting);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      this.chunks.push(text);
      buf += text;
      for (;;) {
        if (inData) {
          // A bare-LF payload ends with LF "." CRLF: accept any LF before the dot.
          const end = buf.indexOf('\n.\r\n');
          const lone = data === '' && buf.startsWith('.\r\n') ? 0 : -1;
          if (end < 0 && lone < 0) return;
          const cut = lone === 0 ? 0 : end + 1;
          data += buf.slice(0, cut);
          buf = buf.slice(cut + 3);
          this.payloads.push(data);
          inData = false;
          data = '';
          state.transaction++;
          this.reply(sock, this.script('.', state) ?? '250 2.0.0 queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        this.lines.push(line);
        const verb = line.split(/[ :]/)[0]!.toUpperCase();
        const scripted = this.script(line, state);
        if (scripted !== null) {
          this.reply(sock, scripted);
          if (verb === 'DATA' && scripted.startsWith('354')) inData = true;
          continue;
        }
        if (verb === 'STARTTLS' && this.tls && !secure) {
          this.reply(sock, '220 go ahead\r\n');
          raw.removeListener('data', onData);
          secure = true;
          sock = new tls.TLSSocket(raw, { isServer: true, ...this.tls });
          sock.on('error', () => undefined);
          sock.on('data', onData);
          return;
        }
        if (verb === 'EHLO' || verb === 'LHLO') this.reply(sock, secure ? this.ehloAfterTls : this.ehlo);
        else if (verb === 'DATA') {
          this.reply(sock, '354 go ahead\r\n');
          inData = true;
        } else if (verb === 'QUIT') {
          this.reply(sock, '221 bye\r\n');
          sock.end();
        } else this.reply(sock, '250 2.0.0 ok\r\n');
      }
    };
    raw.on('data', onData);
  }

  private reply(sock: net.Socket, text: string): void {
    if (text === '') return;
    if (text.endsWith('HANGUP')) {
      sock.end(text.slice(0, -'HANGUP'.length));
      return;
    }
    sock.write(text);
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  /** Says `text` on every open connection and hangs up (an idle-timeout 421). */
  hangUpAll(text: string): void {
    for (const s of this.sockets) s.end(text);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
