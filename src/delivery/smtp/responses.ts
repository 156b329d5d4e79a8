/**
 * Responses SMTP delivery writes without a remote reply, and the rule that
 * turns any response into a record type (smtp-delivery.md §4.3, §4.4, §4.7).
 */
import type { EnhancedCode, RecordResponse, RecordType } from '../../records/types.ts';
import type { SmtpReply } from './reply.ts';
import type { ResponseClassifier } from './ports.ts';

export function ENH(cls: number, subject: number, detail: number): EnhancedCode {
  return { class: cls, subject, detail };
}

export function toRecordResponse(r: SmtpReply): RecordResponse {
  return { code: r.code, enhanced_code: r.enhanced, content: r.content, command: r.command };
}

export function synthesized(code: number, enhanced: EnhancedCode | null, content: string, command: string | null = null): RecordResponse {
  return { code, enhanced_code: enhanced, content, command };
}

export const CONNECT_FAILED = 'KumoMTA internal: failed to connect to any candidate hosts: ';
export const NULL_MX = synthesized(556, ENH(5, 1, 10), 'Recipient address has a null MX');
export const NO_HOSTS = synthesized(451, ENH(4, 4, 4), "MX didn't resolve to any hosts");
export const ALL_SKIPPED = synthesized(451, ENH(4, 4, 4), 'KumoMTA internal: MX consisted solely of hosts on the skip_hosts list');

export function prohibited(address: string, set: string): RecordResponse {
  return synthesized(550, ENH(5, 4, 4), `${address} is on the list of prohibited_hosts ${set}`);
}

/** Summary prefixes when every failure of an exhausted plan is the same kind (§4.7). */
export const UNPLUMBED_SUMMARY = 'All failures are related to having an unplumbed source address. Are the network interfaces provisioned correctly? ';
export const OPP_INSECURE_SUMMARY = 'All failures are related to OpportunisticInsecure STARTTLS. Consider setting enable_tls=Disabled for this site. ';

export type TooMany = 'Yes' | 'Maybe' | 'No';

/** §4.4: is this RCPT reply a "too many recipients" signal? */
export function tooManyRecipients(r: RecordResponse, classify: ResponseClassifier): TooMany {
  if (!r.command?.startsWith('RCPT')) return 'No';
  const e = r.enhanced_code;
  if (e && e.class === 4 && e.subject === 5 && e.detail === 3) return 'Yes';
  if ((r.code === 452 || r.code === 552) && e === null) {
    const cls = classify(r);
    if (cls === 'TooManyRecipients') return 'Yes';
    if (cls === 'Uncategorized' || !KNOWN_CLASSES.has(cls)) return 'Maybe';
  }
  return 'No';
}

/** KumoMTA's built-in bounce classes; anything else is a user class (treated like Uncategorized). */
const KNOWN_CLASSES = new Set([
  'InvalidRecipient', 'DNSFailure', 'SpamBlock', 'SpamContent', 'ProhibitedAttachment', 'RelayDenied', 'AutoReply',
  'TransientFailure', 'Subscribe', 'Unsubscribe', 'ChallengeResponse', 'BadConfiguration', 'PolicyRelated',
  'MessageExpired', 'ProtocolErrors', 'QuotaIssues', 'MailboxFull', 'TooManyRecipients', 'InvalidSender',
  'BadDomain', 'Uncategorized', 'VirusDetected', 'MessageTooLarge',
]);

/** §4.3. */
export function recordTypeOf(r: RecordResponse, tooMany: TooMany): RecordType {
  if (tooMany !== 'No' || r.code === 503 || (r.code >= 300 && r.code <= 499)) return 'TransientFailure';
  if (r.code >= 200 && r.code <= 299) return 'Delivery';
  return 'Bounce';
}
