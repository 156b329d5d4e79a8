/**
 * A raw SMTP dialogue over a real socket: send a line, read one complete
 * (possibly multi-line) reply. Lets tests assert exact reply codes and texts.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface SmtpReplyText {
  code: number;
  /** Reply lines without the `NNN-`/`NNN ` prefix. */
  lines: string[];
  text: string;
}

export class RawSmtpClient {
  private buffer = '';
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(private socket: net.Socket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** STARTTLS (any server certificate accepted; `options` may add a client certificate); resolves once the TLS session is up. */
  async startTls(options: tls.ConnectionOptions = {}): Promise<void> {
    const go = await this.command('STARTTLS');
    if (go.code !== 220) throw new Error(`STARTTLS refused: ${go.code} ${go.text}`);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const secure = tls.connect({ ...options, socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  private wake(): void {
    const w = this.waiters.splice(0);
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawSmtpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawSmtpClient(s)));
      s.once('error', reject);
    });
  }

  /** The next complete reply; rejects when the server closes first or after `timeoutMs`. */
  async reply(timeoutMs = 5000): Promise<SmtpReplyText> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*(\d{3})(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (m) {
        const block = m[0];
        this.buffer = this.buffer.slice(block.length);
        const lines = block.split('\r\n').filter((l) => l.length > 0).map((l) => l.slice(4));
        return { code: Number(m[1]), lines, text: lines.join('\n') };
      }
      if (this.closed) throw new Error(`connection closed; unparsed: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs}ms; have ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async command(line: string): Promise<SmtpReplyText> {
    this.socket.write(line + '\r\n');
    return this.reply();
  }

  /** Writes raw bytes without waiting for a reply (e.g. part of a DATA body). */
  write(text: string): void {
    this.socket.write(text);
  }

  /** Sends DATA, then the message (dot-stuffed) and the terminating dot; returns the final reply. */
  async data(message: string): Promise<SmtpReplyText> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    const body = message.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.socket.write(body + (body.endsWith('\r\n') ? '' : '\r\n') + '.\r\n');
    return this.reply();
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('server did not close the connection');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
