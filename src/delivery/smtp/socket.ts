/**
 * One SMTP client socket: connect (bound to the source address), read
 * framed replies and write commands under the engine clock's deadlines,
 * upgrade with STARTTLS, and the non-blocking reuse probe (§3.2, §3.8).
 * Every timeout destroys the socket, as KumoMTA's client does.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TlsInfo } from '../../records/types.ts';
import type { Clock } from '../../util/clock.ts';
import { ReplyBuffer, ReplyParseError, debugDuration, type SmtpReply } from './reply.ts';

export type ClientErrorKind = 'read-timeout' | 'write-timeout' | 'io' | 'parse';

/** A transport-level failure; the socket is closed afterwards. */
export class SmtpClientError extends Error {
  constructor(readonly kind: ClientErrorKind, message: string, readonly command: string | null = null, readonly timeoutMs: number | null = null, readonly code?: string) {
    super(message);
  }
}

export interface ConnectTarget {
  /** IP address, or null with `path` for a UNIX socket. */
  ip: string | null;
  port: number;
  path?: string;
  localAddress?: string;
}

/** `cmd=MAIL FROM:<a@b>` style label of a command (no CRLF), `NONE` for the greeting. */
function label(command: string | null): string {
  return command === null ? 'NONE' : command.replace(/\r\n$/, '').replace(/\r\n/g, '\\r\\n');
}

export class SmtpSocket {
  private replies = new ReplyBuffer();
  private waiter: (() => void) | null = null;
  private ended = false;
  private failure: Error | null = null;
  tls: TlsInfo | null = null;
  /** True when the TLS peer certificate was verified (AUTH's rule, §3.5). */
  tlsVerified = false;

  private constructor(private sock: net.Socket, private readonly clock: Clock, readonly localAddress: string) {
    this.attach(sock);
  }

  private attach(sock: net.Socket): void {
    sock.on('data', (chunk: Buffer) => {
      this.replies.push(chunk);
      this.wake();
    });
    sock.on('end', () => {
      this.ended = true;
      this.wake();
    });
    sock.on('close', () => {
      this.ended = true;
      this.wake();
    });
    sock.on('error', (err) => {
      this.failure ??= err;
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Connects under `timeoutMs`; the error texts follow §4.7's per-candidate table. */
  static connect(target: ConnectTarget, timeoutMs: number, clock: Clock): Promise<SmtpSocket> {
    const where = target.path ?? `${target.ip!.includes(':') ? `[${target.ip}]` : target.ip}:${target.port}`;
    return new Promise((resolve, reject) => {
      const sock = target.path
        ? net.connect({ path: target.path })
        : net.connect({ host: target.ip!, port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}), noDelay: true });
      const timer = clock.setTimer(timeoutMs, () => {
        sock.destroy();
        reject(new SmtpClientError('io', `timeout after ${debugDuration(timeoutMs)} while connecting to ${where} None`));
      });
      sock.once('connect', () => {
        timer.cancel();
        sock.removeAllListeners('error');
        const local = sock.localAddress ? `${sock.localAddress.includes(':') ? `[${sock.localAddress}]` : sock.localAddress}:${sock.localPort}` : where;
        resolve(new SmtpSocket(sock, clock, local));
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        timer.cancel();
        sock.destroy();
        if (target.localAddress && (err.code === 'EADDRNOTAVAIL' || err.syscall === 'bind')) {
          reject(new SmtpClientError('io', `bind ${target.localAddress}:0 failed: ${err.message} while attempting to connect to ${where} transport=${where} proto=None`, null, null, err.code));
        } else {
          reject(new SmtpClientError('io', `failed to connect to ${where} None: ${err.message}`, null, null, err.code));
        }
      });
    });
  }

  get isClosed(): boolean {
    return this.ended || this.sock.destroyed;
  }

  /**
   * The reuse probe: 'idle' when nothing was said, 'reply' for an unsolicited
   * complete reply (e.g. a 421 idle hang-up), 'closed' on EOF or error.
   */
  probe(): 'idle' | 'reply' | 'closed' {
    if (this.replies.hasData) {
      try {
        if (this.replies.next()) return 'reply';
      } catch {
        return 'closed';
      }
    }
    return this.isClosed ? 'closed' : 'idle';
  }

  /** Reads one complete reply to `command` within `timeoutMs`. */
  async readReply(command: string | null, timeoutMs: number): Promise<SmtpReply> {
    const deadline = this.clock.now() + timeoutMs;
    for (;;) {
      let parsed;
      try {
        parsed = this.replies.next();
      } catch (err) {
        this.destroy();
        const text = err instanceof ReplyParseError ? err.message : 'response is not UTF8';
        throw new SmtpClientError('parse', text, command);
      }
      if (parsed) return { ...parsed, command };
      if (this.isClosed) {
        const why = this.failure ? this.failure.message : 'Connection closed by peer';
        throw new SmtpClientError('io', `Error ${why} reading response to cmd=${label(command)}`, command);
      }
      const left = deadline - this.clock.now();
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = this.clock.setTimer(Math.max(0, left), () => {
          this.waiter = null;
          resolve(true);
        });
        this.waiter = () => {
          timer.cancel();
          resolve(false);
        };
      });
      if (timedOut) {
        this.destroy();
        throw new SmtpClientError('read-timeout', `Timed Out waiting ${debugDuration(timeoutMs)} for response to cmd=${label(command)}`, command, timeoutMs);
      }
    }
  }

  /** Writes bytes and waits for them to be flushed within `timeoutMs`. */
  write(data: string | Uint8Array, timeoutMs: number, what: string): Promise<void> {
    if (this.isClosed) {
      return Promise.reject(new SmtpClientError('io', `Error ${this.failure?.message ?? 'Connection closed by peer'} writing ${label(what)}`, what));
    }
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        this.destroy();
        reject(new SmtpClientError('write-timeout', `Timed Out after ${debugDuration(timeoutMs)} writing cmd=${label(what)}`, what, timeoutMs));
      });
      this.sock.write(data, (err) => {
        timer.cancel();
        if (err) reject(new SmtpClientError('io', `Error ${err.message} writing ${label(what)}`, what));
        else resolve();
      });
    });
  }

  async command(line: string, timeoutMs: number): Promise<SmtpReply> {
    await this.write(line, Math.min(timeoutMs, 60_000), line);
    return this.readReply(line, timeoutMs);
  }

  /** Upgrades in place; rejects with the handshake error (the socket is then gone). */
  startTls(options: tls.ConnectionOptions, timeoutMs: number): Promise<void> {
    const raw = this.sock;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    return new Promise((resolve, reject) => {
      const secure = tls.connect({ ...options, socket: raw });
      const timer = this.clock.setTimer(timeoutMs, () => {
        secure.destroy();
        reject(new SmtpClientError('read-timeout', `Timed Out waiting ${debugDuration(timeoutMs)} for TLS handshake`, null, timeoutMs));
      });
      secure.once('secureConnect', () => {
        timer.cancel();
        secure.removeAllListeners('error');
        this.sock = secure;
        this.attach(secure);
        const cipher = secure.getCipher();
        const cert = secure.getPeerX509Certificate();
        this.tls = {
          cipher: cipher.standardName ?? cipher.name,
          protocolVersion: secure.getProtocol() ?? '',
          peerSubjectName: cert ? cert.subject.split('\n').filter((l) => l !== '') : [],
        };
        this.tlsVerified = options.rejectUnauthorized !== false;
        resolve();
      });
      secure.once('error', (err) => {
        timer.cancel();
        secure.destroy();
        this.ended = true;
        reject(new SmtpClientError('io', err.message));
      });
    });
  }

  /** QUIT, bounded by `timeoutMs`, errors ignored; then the socket is closed. */
  async quit(timeoutMs: number): Promise<void> {
    try {
      if (!this.isClosed) await this.command('QUIT\r\n', timeoutMs);
    } catch {
      // the connection is going away regardless
    }
    this.destroy();
  }

  destroy(): void {
    this.ended = true;
    this.sock.destroy();
    this.wake();
  }
}
