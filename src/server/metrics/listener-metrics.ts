/**
 * The listeners' own series, named as in KumoMTA (engine.md §10):
 * total_messages_received, total_connections_denied, smtp_server_rejections,
 * connection_count for the ESMTP listener.
 */
import type { MetricFamily, MetricsSource } from '../ports.ts';
import { SeriesFamily } from './families.ts';

export class ListenerMetrics implements MetricsSource {
  readonly messagesReceived = new SeriesFamily('total_messages_received', 'total number of messages received', 'counter');
  readonly connectionsDenied = new SeriesFamily('total_connections_denied', 'total number of connections rejected due to load shedding or concurrency limits', 'counter');
  readonly smtpRejections = new SeriesFamily('smtp_server_rejections', 'total number of SMTP server rejections (Rejection records)', 'counter');
  readonly connectionCount = new SeriesFamily('connection_count', 'number of active connections', 'gauge');

  /** `service` and, when given, `service:<local address>`. */
  received(service: string, localAddress?: string): void {
    this.messagesReceived.inc({ service });
    if (localAddress) this.messagesReceived.inc({ service: `${service}:${localAddress}` });
  }

  rejection(localAddress: string): void {
    this.smtpRejections.inc({ service: 'total' });
    this.smtpRejections.inc({ service: localAddress });
  }

  collect(): MetricFamily[] {
    return [this.messagesReceived, this.connectionsDenied, this.smtpRejections, this.connectionCount].map((f) => f.snapshot());
  }
}
