/**
 * The policy events the listeners fire with a Message argument. The Message
 * userdata comes from the Message binding (injected, so the listeners do not
 * depend on how it is implemented).
 */
import type { EventRegistry } from '../kumo/events.ts';
import type { Message } from '../message/message.ts';
import { pushJson } from '../lua/marshal.ts';
import type { JsonObject } from '../util/json.ts';
import type { PushMessage } from './ports.ts';
import { ConnectionMetaClass, type ConnectionMeta } from './smtp/conn-meta.ts';

export class ListenerPolicy {
  constructor(
    readonly events: EventRegistry,
    private readonly pushMessage: PushMessage,
  ) {}

  /** `http_message_generated(msg, auth_info)`; errors (incl. kumo.reject) propagate. */
  async httpMessageGenerated(msg: Message, authInfo: JsonObject): Promise<void> {
    await this.events.fire('http_message_generated', (co) => {
      this.pushMessage(co, msg);
      pushJson(co, authInfo);
      return 2;
    });
  }

  /** `smtp_server_message_received(msg, conn_meta)`; errors (incl. kumo.reject) propagate. */
  async smtpMessageReceived(msg: Message, connMeta: ConnectionMeta): Promise<void> {
    await this.events.fire('smtp_server_message_received', (co) => {
      this.pushMessage(co, msg);
      ConnectionMetaClass.push(co, connMeta);
      return 2;
    });
  }
}
