/**
 * `POST /api/inject/v1` (engine.md §8.4): validate the whole request first
 * (nothing is queued for a request that is refused), then build, hand to
 * policy, log and queue one message per recipient, counting each outcome.
 */
import { Message } from '../../message/message.ts';
import { newSpoolId } from '../../message/spool-id.ts';
import type { RecordSink } from '../../records/types.ts';
import type { Clock } from '../../util/clock.ts';
import type { JsonObject } from '../../util/json.ts';
import { LuaError } from '../../lua/errors.ts';
import type { MessageIntake, ServerHealth } from '../ports.ts';
import type { ListenerPolicy } from '../policy-events.ts';
import type { ListenerMetrics } from '../metrics/listener-metrics.ts';
import { addSupplementalHeader, receivedHeader } from '../trace-headers.ts';
import { authInfoJson, type AuthInfo } from './auth.ts';
import { CompiledContent } from './inject-content.ts';
import { parseInjectRequest, type InjectRecipient, type InjectRequest } from './inject-request.ts';
import { HttpError } from './reply.ts';

export interface InjectResponse {
  success_count: number;
  fail_count: number;
  failed_recipients: string[];
  errors: string[];
}

export interface InjectDeps {
  intake: MessageIntake;
  records: RecordSink;
  policy: ListenerPolicy;
  metrics: ListenerMetrics;
  clock: Clock;
  health?: ServerHealth;
}

export interface InjectPeer {
  peerIp: string;
  /** The listener's own IP (`received_via`). */
  localIp: string;
  /** Listener hostname (meta `hostname`). */
  hostname: string;
  /** Machine hostname for the Received header. */
  machineHostname: string;
  auth: AuthInfo;
}

function errorText(e: unknown): string {
  if (e instanceof LuaError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/** `http_auth`: the basic-auth user, else the first identity, else the peer IP. */
function httpAuthOf(auth: AuthInfo): string {
  const basic = auth.identities.find((i) => i.context === 'HttpBasicAuth');
  return (basic ?? auth.identities[0])?.identity ?? auth.peer_address ?? '';
}

/** Recipients whose spool writes are committed together. */
const SPOOL_CHUNK = 256;

export class InjectHandler {
  constructor(private readonly deps: InjectDeps) {}

  async handle(body: string | Uint8Array, peer: InjectPeer): Promise<InjectResponse> {
    const reason = this.deps.health?.unavailableReason();
    if (reason) throw new HttpError(503, reason);
    const request = parseInjectRequest(body);
    if (request.deferredGeneration) throw new HttpError(400, 'deferred_generation: true is not supported by kumo-lua');
    const content = new CompiledContent(request);
    const failures: (unknown | undefined)[] = new Array(request.recipients.length);
    // Policy runs per recipient, in order; the spool writes of a chunk then
    // share one group commit instead of one commit (and one event-loop turn)
    // per recipient.
    for (let start = 0; start < request.recipients.length; start += SPOOL_CHUNK) {
      const staged: { index: number; msg: Message; saved: Promise<unknown> }[] = [];
      for (let i = start; i < Math.min(request.recipients.length, start + SPOOL_CHUNK); i++) {
        try {
          const msg = await this.generate(request, content, request.recipients[i]!, peer);
          if (msg === null) continue;
          // Settled to a value here, so a failed write waits for its turn below without being an unhandled rejection.
          const saved = this.deps.intake.save(msg, { deferredSpool: request.deferredSpool }).then(() => undefined, (e: unknown) => e ?? new Error('spool write failed'));
          staged.push({ index: i, msg, saved });
        } catch (e) {
          failures[i] = e;
        }
      }
      for (const { index, msg, saved } of staged) {
        try {
          const err = await saved;
          if (err !== undefined) throw err;
          await this.queue(msg, peer);
        } catch (e) {
          failures[index] = e;
        }
      }
    }
    const response: InjectResponse = { success_count: 0, fail_count: 0, failed_recipients: [], errors: [] };
    request.recipients.forEach((r, i) => {
      const e = failures[i];
      if (e === undefined) {
        response.success_count++;
        return;
      }
      response.fail_count++;
      response.failed_recipients.push(r.email);
      response.errors.push(`${r.email}: ${errorText(e)}`);
    });
    return response;
  }

  /**
   * Builds one message per recipient exactly as `handle` would, without
   * counting, policy events, spooling or queueing (`kumo.api.inject.build_v1`).
   * The first recipient that cannot be built raises, naming its address.
   */
  async build(body: string | Uint8Array, peer: InjectPeer): Promise<Message[]> {
    const request = parseInjectRequest(body);
    const content = new CompiledContent(request);
    const out: Message[] = [];
    for (const r of request.recipients) {
      try {
        out.push(await this.buildOne(request, content, r, peer));
      } catch (e) {
        throw new Error(`${r.email}: ${errorText(e)}`);
      }
    }
    return out;
  }

  /** Builds one recipient's message and runs http_message_generated; null when the policy routed it to the `null` queue. */
  private async generate(request: InjectRequest, content: CompiledContent, r: InjectRecipient, peer: InjectPeer): Promise<Message | null> {
    const { policy, metrics } = this.deps;
    if (r.invalid !== null) throw new Error(r.invalid);
    metrics.received('http_listener');
    const msg = await this.buildOne(request, content, r, peer);
    await policy.httpMessageGenerated(msg, authInfoJson(peer.auth));
    if (msg.queueName() === 'null') return null;
    addSupplementalHeader(msg, request.traceHeaders);
    return msg;
  }

  /** The message for one recipient: body, Received header, reception meta. */
  private async buildOne(request: InjectRequest, content: CompiledContent, r: InjectRecipient, peer: InjectPeer): Promise<Message> {
    const { clock } = this.deps;
    if (r.invalid !== null) throw new Error(r.invalid);
    const id = newSpoolId(clock.now());
    let data = await content.render(r);
    if (request.traceHeaders.receivedHeader) {
      const header = receivedHeader({
        fromName: request.envelopeSender.domain,
        peerIp: peer.peerIp,
        byHostname: peer.machineHostname,
        protocol: 'HTTP',
        id,
        recipient: r.address.email,
        nowMs: clock.now(),
      });
      data = Buffer.concat([Buffer.from(header, 'utf8'), data]);
    }
    const meta: JsonObject = {
      http_auth: httpAuthOf(peer.auth),
      reception_protocol: 'HTTP',
      received_from: peer.peerIp,
      received_via: peer.localIp,
      hostname: peer.hostname,
    };
    if (Object.keys(r.metadata).length > 0) meta.extra = r.metadata;
    return new Message({ id, sender: request.envelopeSender.email, recipients: [r.address.email], meta, data });
  }

  /** After the spool write: the Reception record, then the queue. */
  private async queue(msg: Message, peer: InjectPeer): Promise<void> {
    const { intake, records } = this.deps;
    await records.log({
      type: 'Reception',
      message: msg,
      response: { code: 250, enhanced_code: null, content: '', command: null },
      peerAddress: { name: '', addr: peer.peerIp },
    });
    try {
      await intake.insert(msg);
    } catch (e) {
      const text = `KumoMTA internal: QueueManager::insert failed during reception: ${errorText(e)}`;
      await records.log({ type: 'Bounce', message: msg, response: { code: 500, enhanced_code: null, content: text, command: null } });
      throw new Error(text);
    }
  }
}
