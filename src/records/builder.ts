import type { Message } from '../message/message.ts';
import { parseEnvelopeAddress } from '../message/address.ts';
import type { Clock } from '../util/clock.ts';
import type { JsonObject } from '../util/json.ts';
import { type CompiledCapture, type HeaderGroup, parseHeaderGroups } from './capture.ts';
import type { BuiltRecord, LogRecord } from './log-record.ts';
import { foldLineBreaks } from './response.ts';
import { serdeJsonMap } from './serde-json.ts';
import { createdInstantFromSpoolId, formatRfc3339, instantFromMs } from './time-format.ts';
import type { RecordEvent, RecordResponse, RecordType } from './types.ts';
import { CLASSIFIED_RECORD_TYPES, UNCATEGORIZED } from '../bounce/index.ts';

/** Maps a response to a bounce class name; only called for classifiable types. */
export type BounceClassifier = (type: RecordType, response: RecordResponse) => string;

export interface RecordBuilderOptions {
  clock: Clock;
  /** Hyphenated lowercase node UUID. */
  nodeId: string;
  /** Absent or null: every record says Uncategorized (no kumo.configure_bounce_classifier). */
  classify?: BounceClassifier | null;
}

const js = JSON.stringify;
const jsOrNull = (v: string | null | undefined): string => (v === null || v === undefined ? 'null' : js(v));

/** Turns RecordEvents into log records. One per process (it knows the node id). */
export class RecordBuilder {
  readonly nodeId: string;
  readonly nodeIdJson: string;
  readonly clock: Clock;
  classify: BounceClassifier | null;

  constructor(options: RecordBuilderOptions) {
    this.clock = options.clock;
    this.nodeId = options.nodeId;
    this.nodeIdJson = js(options.nodeId);
    this.classify = options.classify ?? null;
  }

  /** Computes everything that does not depend on a logger's capture settings. */
  prepare(event: RecordEvent): PreparedRecord {
    return new PreparedRecord(this, event);
  }

  /** One-off build (tests, callers with a single logger). */
  build(event: RecordEvent, capture: CompiledCapture): BuiltRecord {
    return this.prepare(event).build(capture);
  }
}

function displayAddress(addr: string): string {
  if (!addr.startsWith('<') && addr.toLowerCase() !== 'postmaster') return addr;
  try {
    return parseEnvelopeAddress(addr).email;
  } catch (err) {
    return (err as Error).message;
  }
}

function peerJson(p: LogRecord['peer_address']): string {
  if (!p) return 'null';
  return `{"name":${js(p.name)},"addr":${js(p.addr)}${p.is_secure === true ? ',"is_secure":true' : ''}}`;
}

function sourceJson(s: LogRecord['source_address']): string {
  if (!s) return 'null';
  let out = `{"address":${js(s.address)}`;
  if (s.server !== undefined) out += `,"server":${js(s.server)}`;
  if (s.protocol !== undefined) out += `,"protocol":${js(s.protocol)}`;
  return out + '}';
}

function responseJson(r: LogRecord['response']): string {
  const ec = r.enhanced_code;
  const ecJson = ec ? `{"class":${ec.class},"subject":${ec.subject},"detail":${ec.detail}}` : 'null';
  return `{"code":${r.code},"enhanced_code":${ecJson},"content":${js(r.content)},"command":${jsOrNull(r.command)}}`;
}

/**
 * An event with its capture-independent fields resolved and their JSON text
 * pre-rendered. `build` adds one logger's meta/headers; equal capture
 * settings share the result.
 */
export class PreparedRecord {
  readonly type: RecordType;
  readonly message: Message | null;
  readonly receptionProtocol: string | null;
  /** Everything but size, meta and headers, in key order. */
  private readonly fields: Omit<LogRecord, 'size' | 'meta' | 'headers'>;
  private readonly head: string;
  private readonly mid: string;
  private readonly tail: string;
  private readonly metaSource: JsonObject | null;
  private headerGroups: HeaderGroup[] | null = null;
  private readonly cache = new Map<string, BuiltRecord>();

  constructor(builder: RecordBuilder, event: RecordEvent) {
    const msg = event.type === 'Rejection' ? null : event.message;
    const type = event.type;
    this.type = type;
    this.message = msg;
    const timestamp = instantFromMs(event.timestampMs ?? builder.clock.now());
    const eventTime = formatRfc3339(timestamp);

    let id = '';
    let sender = '';
    let recipient: string | string[] = '';
    let queue = '';
    let created = timestamp;
    let createdTime = eventTime;
    let receptionProtocol: string | null = null;
    if (msg) {
      id = msg.id;
      sender = displayAddress(msg.sender);
      const rcpts = event.recipients ?? msg.recipients;
      recipient = rcpts.length === 1 ? displayAddress(rcpts[0]!) : rcpts.map(displayAddress);
      if (event.oob) ({ sender, recipient } = event.oob);
      if (event.queue !== undefined) queue = event.queue;
      else {
        try {
          queue = msg.queueName();
        } catch (err) {
          queue = (err as Error).message;
        }
      }
      created = createdInstantFromSpoolId(msg.id);
      createdTime = formatRfc3339(created);
      const rp = msg.getMeta('reception_protocol');
      receptionProtocol = typeof rp === 'string' ? rp : null;
      this.metaSource = msg.metaObject();
    } else {
      sender = event.rejection?.sender ?? '';
      recipient = event.rejection?.recipient ?? '';
      this.metaSource = event.rejection?.connMeta ?? null;
    }
    this.receptionProtocol = receptionProtocol;

    const r = event.response;
    const response = { code: r.code, enhanced_code: r.enhanced_code, content: foldLineBreaks(r.content), command: r.command };
    const numAttempts = type === 'Rejection' || type === 'OOB' ? 0 : event.numAttempts ?? msg?.numAttempts ?? 0;
    const classification = builder.classify && CLASSIFIED_RECORD_TYPES.has(type) ? builder.classify(type, response) : UNCATEGORIZED;
    const peer = event.peerAddress ?? null;
    const peerAddress = peer ? (peer.is_secure === true ? { name: peer.name, addr: peer.addr, is_secure: true as const } : { name: peer.name, addr: peer.addr }) : null;
    const src = event.sourceAddress ?? null;
    const sourceAddress = src ? { address: src.address, ...(src.server !== undefined ? { server: src.server } : {}), ...(src.protocol !== undefined ? { protocol: src.protocol } : {}) } : null;
    const feedback = event.feedbackReport ?? null;

    this.fields = {
      type, id, sender, recipient, queue, site: event.site ?? '',
      response, peer_address: peerAddress,
      timestamp: timestamp.secs, event_time: eventTime, created: created.secs, created_time: createdTime,
      num_attempts: numAttempts, bounce_classification: classification,
      egress_pool: event.egressPool ?? null, egress_source: event.egressSource ?? null,
      source_address: sourceAddress, feedback_report: feedback,
      delivery_protocol: event.deliveryProtocol ?? null, reception_protocol: receptionProtocol, nodeid: builder.nodeId,
    };
    const f = this.fields;
    const recipientJson = typeof recipient === 'string' ? js(recipient) : '[' + recipient.map((x) => js(x)).join(',') + ']';
    this.head = `{"type":${js(type)},"id":${js(id)},"sender":${js(sender)},"recipient":${recipientJson},"queue":${js(queue)},"site":${js(f.site)},"size":`;
    this.mid = `,"response":${responseJson(response)},"peer_address":${peerJson(peerAddress)},"timestamp":${f.timestamp},"event_time":${js(eventTime)},"created":${f.created},"created_time":${js(createdTime)},"num_attempts":${numAttempts},"bounce_classification":${js(classification)},"egress_pool":${jsOrNull(f.egress_pool)},"egress_source":${jsOrNull(f.egress_source)},"source_address":${sourceJson(sourceAddress)},"feedback_report":${feedback ? serdeJsonMap(feedback) : 'null'},"meta":`;
    let tail = `,"delivery_protocol":${jsOrNull(f.delivery_protocol)},"reception_protocol":${jsOrNull(receptionProtocol)},"nodeid":${builder.nodeIdJson}`;
    if (event.tls) {
      f.tls_cipher = event.tls.cipher;
      f.tls_protocol_version = event.tls.protocolVersion;
      f.tls_peer_subject_name = event.tls.peerSubjectName.slice();
      tail += `,"tls_cipher":${js(f.tls_cipher)},"tls_protocol_version":${js(f.tls_protocol_version)},"tls_peer_subject_name":[${f.tls_peer_subject_name.map((x) => js(x)).join(',')}]`;
    }
    if (event.providerName !== undefined) {
      f.provider_name = event.providerName;
      tail += `,"provider_name":${js(f.provider_name)}`;
    }
    if (event.sessionId !== undefined) {
      f.session_id = event.sessionId;
      tail += `,"session_id":${js(f.session_id)}`;
    }
    this.tail = tail + '}';
  }

  /** The record as one logger with this capture configuration sees it. */
  build(capture: CompiledCapture): BuiltRecord {
    const cached = this.cache.get(capture.key);
    if (cached) return cached;
    const meta = this.metaSource ? capture.captureMeta(this.metaSource) : {};
    const headers = capture.wantsHeaders && this.message ? capture.captureHeaders(this.loadHeaderGroups(this.message)) : {};
    const size = this.message && this.type !== 'OOB' && this.message.isDataLoaded() ? this.message.getData().length : 0;
    const metaJson = isEmpty(meta) ? '{}' : serdeJsonMap(meta);
    const headersJson = isEmpty(headers) ? '{}' : serdeJsonMap(headers);
    const text = this.head + size + this.mid + metaJson + ',"headers":' + headersJson + this.tail;
    const f = this.fields;
    const record: LogRecord = {
      type: f.type, id: f.id, sender: f.sender, recipient: f.recipient, queue: f.queue, site: f.site, size,
      response: f.response, peer_address: f.peer_address, timestamp: f.timestamp, event_time: f.event_time,
      created: f.created, created_time: f.created_time, num_attempts: f.num_attempts,
      bounce_classification: f.bounce_classification, egress_pool: f.egress_pool, egress_source: f.egress_source,
      source_address: f.source_address, feedback_report: f.feedback_report, meta, headers,
      delivery_protocol: f.delivery_protocol, reception_protocol: f.reception_protocol, nodeid: f.nodeid,
    };
    if (f.tls_cipher !== undefined) {
      record.tls_cipher = f.tls_cipher;
      record.tls_protocol_version = f.tls_protocol_version!;
      record.tls_peer_subject_name = f.tls_peer_subject_name!;
    }
    if (f.provider_name !== undefined) record.provider_name = f.provider_name;
    if (f.session_id !== undefined) record.session_id = f.session_id;
    const built = { record, text };
    this.cache.set(capture.key, built);
    return built;
  }

  /** Header capture loads the data (a spool read for a shrunk message); unreadable data captures nothing. */
  private loadHeaderGroups(msg: Message): HeaderGroup[] {
    if (this.headerGroups === null) {
      try {
        this.headerGroups = parseHeaderGroups(msg.getData());
      } catch {
        this.headerGroups = [];
      }
    }
    return this.headerGroups;
  }
}

function isEmpty(obj: object): boolean {
  for (const _ in obj) return false;
  return true;
}
