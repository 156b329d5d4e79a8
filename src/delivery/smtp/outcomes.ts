/**
 * From a transaction result to one response per recipient, with the
 * `smtp_client_rewrite_delivery_status` event applied (smtp-delivery.md
 * §4.2, §4.5).
 */
import type { RecordResponse } from '../../records/types.ts';
import { debugDuration, replyLine, type SmtpReply } from './reply.ts';
import { ENH, synthesized, toRecordResponse } from './responses.ts';
import type { TransactionResult } from './transaction.ts';
import type { RewriteDeliveryStatus } from './ports.ts';

export interface RecipientResponse {
  recipient: string;
  response: RecordResponse;
  /** The rewrite event may change it (remote and local rejections, not synthesized transport errors). */
  rewritable: boolean;
}

export interface SliceResponses {
  responses: RecipientResponse[];
  /**
   * A timeout: the connection must not be reused. A 421 reply breaks it too,
   * but only as the code stands after smtp_client_rewrite_delivery_status
   * (§4.5: 421 → 550 keeps the connection), so the session checks that.
   */
  broken: boolean;
}

/** `<cmd:?>`: Rust's Debug of the command text. */
function debugCommand(cmd: string | null): string {
  return cmd === null ? 'None' : JSON.stringify(cmd);
}

export function perRecipient(result: TransactionResult, recipients: string[], readyQueue: string, peerDebug: string): SliceResponses {
  const each = (f: (rcpt: string, i: number) => RecordResponse, rewritable: boolean) =>
    recipients.map((recipient, i) => ({ recipient, response: f(recipient, i), rewritable }));
  switch (result.kind) {
    case 'success': {
      const final = toRecordResponse(result.final);
      const responses = recipients.map((recipient, i) => {
        const own = result.rcpt[i]!;
        return own.code === 250 ? { recipient, response: final, rewritable: false } : { recipient, response: toRecordResponse(own), rewritable: true };
      });
      return { responses, broken: false };
    }
    case 'reply': {
      const r = toRecordResponse(result.reply);
      return { responses: each(() => r, true), broken: false };
    }
    case 'rcpt-list':
      return { responses: each((_, i) => toRecordResponse(result.replies[i]!), true), broken: false };
    case 'transport': {
      const e = result.error;
      if (e.kind === 'read-timeout' || e.kind === 'write-timeout') {
        const how = e.kind === 'read-timeout' ? `for response to ${debugCommand(e.command)}` : `to write ${debugCommand(e.command)}`;
        const r = synthesized(421, ENH(4, 4, 2), `KumoMTA internal: failed to send message to ${readyQueue} ${peerDebug}: Timed Out waiting ${debugDuration(e.timeoutMs ?? 0)} ${how}`, e.command);
        return { responses: each(() => r, false), broken: true };
      }
      // Not "broken" in KumoMTA's sense (no 421, no timeout): the socket is simply gone.
      const r = synthesized(400, null, `KumoMTA internal: failed to send message: ${e.message}`, e.command);
      return { responses: each(() => r, false), broken: false };
    }
  }
}

export interface QueueArgs {
  domain: string;
  tenant: string | null;
  campaign: string | null;
  routingDomain: string;
}

/** §4.5: the event sees `<code> [<c.s.d> ]<content>`; another code replaces it, the text says so. */
export async function applyRewrite(responses: RecipientResponse[], rewrite: RewriteDeliveryStatus | null, args: QueueArgs, diag: (t: string) => void): Promise<void> {
  if (!rewrite) return;
  for (const r of responses) {
    const resp = r.response;
    if (!r.rewritable) continue;
    let code: number | null;
    try {
      code = await rewrite(replyLine({ code: resp.code, enhanced: resp.enhanced_code, content: resp.content }), args.domain, args.tenant, args.campaign, args.routingDomain);
    } catch (err) {
      diag(`smtp_client_rewrite_delivery_status failed, keeping the response: ${(err as Error).message}`);
      continue;
    }
    if (code === null || code === resp.code) continue;
    r.response = { ...resp, code, content: `${resp.content} (kumomta: status was rewritten from ${resp.code} -> ${code})` };
  }
}

export type { SmtpReply };
