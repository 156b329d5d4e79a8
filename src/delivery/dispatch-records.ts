import type { Message } from '../message/message.ts';
import type { RecordEvent, RecordResponse, RecordType } from '../records/types.ts';

/** What every record from a custom_lua dispatcher shares (log-record.md §3, §4.2, §4.6). */
export interface DispatchSite {
  readyQueueName: string;
  constructorName: string;
  egressPool: string;
  egressSource: string;
  providerName: string | null;
  sessionId: string;
}

export function dispatchEvent(type: RecordType, msg: Message, response: RecordResponse, site: DispatchSite, withPeer: boolean): RecordEvent {
  const ev: RecordEvent = {
    type,
    message: msg,
    response,
    site: site.readyQueueName,
    peerAddress: withPeer ? { name: `Lua via ${site.constructorName}`, addr: '0.0.0.0' } : null,
    egressPool: site.egressPool,
    egressSource: site.egressSource,
    deliveryProtocol: 'Lua',
    sessionId: site.sessionId,
  };
  if (site.providerName !== null) ev.providerName = site.providerName;
  return ev;
}

export function luaResponse(code: number, content: string): RecordResponse {
  return { code, enhanced_code: null, content, command: null };
}
