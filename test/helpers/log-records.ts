import { Message } from '../../src/message/message.ts';
import type { JsonObject } from '../../src/util/json.ts';

export const NODE_ID = '6f1d2c9e-28b9-11ef-8f3a-525400c0ffee';

/** An RFC 5322 message with the given header lines, padded with body text to exactly `size` bytes. */
export function messageBytes(headerLines: string[], size: number): Uint8Array {
  const head = headerLines.map((l) => l + '\r\n').join('') + '\r\n';
  const bodyLen = size - Buffer.byteLength(head);
  if (bodyLen < 2) throw new Error(`size ${size} too small for the headers`);
  return Buffer.from(head + 'x'.repeat(bodyLen - 2) + '\r\n');
}

export interface TestMessageInit {
  id?: string;
  sender?: string;
  recipients?: string[];
  meta?: JsonObject;
  headers?: string[];
  size?: number;
  numAttempts?: number;
}

export function testMessage(init: TestMessageInit = {}): Message {
  return new Message({
    id: init.id,
    sender: init.sender ?? 'news@sender.example',
    recipients: init.recipients ?? ['alice@example.net'],
    meta: init.meta ?? { tenant: 'acme', reception_protocol: 'ESMTP' },
    data: messageBytes(init.headers ?? ['Subject: June newsletter', 'X-Campaign-Id: summer24'], init.size ?? 2418),
    numAttempts: init.numAttempts,
  });
}
