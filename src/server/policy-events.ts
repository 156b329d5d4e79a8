/**
 * The HTTP listener's policy event (the SMTP listener's are in
 * smtp/server-events.ts). The Message userdata comes from the Message
 * binding (injected, so the listeners do not depend on how it is implemented).
 */
import type { EventRegistry } from '../kumo/events.ts';
import type { Message } from '../message/message.ts';
import { pushJson } from '../lua/marshal.ts';
import type { JsonObject } from '../util/json.ts';
import type { PushMessage } from './ports.ts';

export class ListenerPolicy {
  constructor(
    readonly events: EventRegistry,
    readonly pushMessage: PushMessage,
  ) {}

  /** `http_message_generated(msg, auth_info)`; errors (incl. kumo.reject) propagate. */
  async httpMessageGenerated(msg: Message, authInfo: JsonObject): Promise<void> {
    await this.events.fire('http_message_generated', (co) => {
      this.pushMessage(co, msg);
      pushJson(co, authInfo);
      return 2;
    });
  }
}
