import { describe, expect, it } from 'vitest';
import { RecordBuilder } from '../../src/records/builder.ts';
import { CompiledCapture } from '../../src/records/capture.ts';
import { parseResponse } from '../../src/records/response.ts';
import { VirtualClock } from '../../src/util/clock.ts';
import { JsonFloat } from '../../src/util/json.ts';
import { NODE_ID, testMessage } from '../helpers/log-records.ts';

const clock = new VirtualClock(Date.UTC(2024, 5, 12, 13, 53, 30));
const builder = new RecordBuilder({
  clock,
  nodeId: NODE_ID,
  classify: (_type, r) => (r.enhanced_code?.subject === 1 && r.enhanced_code.detail === 1 ? 'InvalidRecipient' : 'Uncategorized'),
});
const tenantAndHeaders = new CompiledCapture({ meta: ['tenant'], headers: ['Subject', 'X-*'] });
const tenantOnly = new CompiledCapture({ meta: ['tenant'], headers: [] });
const nothing = new CompiledCapture({ meta: [], headers: [] });

describe('record builder: one record of each main type, byte for byte', () => {
  it('Reception over STARTTLS without a client certificate (log-record.md §6.1)', () => {
    const msg = testMessage({ id: '2444a5b328c311ef9a3c525400c0ffee' });
    const { text } = builder.build(
      {
        type: 'Reception',
        message: msg,
        response: { code: 250, enhanced_code: null, content: '', command: null },
        peerAddress: { name: 'mta1.sender.example', addr: '192.0.2.10' },
        timestampMs: 1718200406412.871,
        tls: { cipher: 'TLS13_AES_256_GCM_SHA384', protocolVersion: 'TLSv1_3', peerSubjectName: [] },
        sessionId: '3b8a7c41-9d2e-4f6a-b1c0-7e5d4a3f2b10',
      },
      tenantAndHeaders,
    );
    expect(text).toBe(
      '{"type":"Reception","id":"2444a5b328c311ef9a3c525400c0ffee","sender":"news@sender.example","recipient":"alice@example.net","queue":"acme@example.net","site":"","size":2418,"response":{"code":250,"enhanced_code":null,"content":"","command":null},"peer_address":{"name":"mta1.sender.example","addr":"192.0.2.10"},"timestamp":1718200406,"event_time":"2024-06-12T13:53:26.412871Z","created":1718200406,"created_time":"2024-06-12T13:53:26.398712300Z","num_attempts":0,"bounce_classification":"Uncategorized","egress_pool":null,"egress_source":null,"source_address":null,"feedback_report":null,"meta":{"tenant":"acme"},"headers":{"Subject":"June newsletter","X-Campaign-Id":"summer24"},"delivery_protocol":null,"reception_protocol":"ESMTP","nodeid":"6f1d2c9e-28b9-11ef-8f3a-525400c0ffee","tls_cipher":"TLS13_AES_256_GCM_SHA384","tls_protocol_version":"TLSv1_3","tls_peer_subject_name":[],"session_id":"3b8a7c41-9d2e-4f6a-b1c0-7e5d4a3f2b10"}',
    );
  });

  it('Delivery over SMTP on the first attempt (§6.2)', () => {
    const msg = testMessage({ id: '2444a5b328c311ef9a3c525400c0ffee' });
    const { text } = builder.build(
      {
        type: 'Delivery',
        message: msg,
        response: parseResponse('250 2.0.0 Ok: queued as 4W0Tqz2kHbz9sWn', '.\r\n'),
        site: 'unspecified->mx1.example.net@smtp_client',
        peerAddress: { name: 'mx1.example.net.', addr: '198.51.100.25' },
        egressPool: 'unspecified',
        egressSource: 'unspecified',
        sourceAddress: { address: '203.0.113.5:41872' },
        deliveryProtocol: 'ESMTP',
        timestampMs: 1718200407905,
        tls: { cipher: 'TLS13_AES_256_GCM_SHA384', protocolVersion: 'TLSv1_3', peerSubjectName: ['CN=mx1.example.net'] },
        sessionId: 'c7e05a12-6b3d-4e8f-9a41-02d5f7b8e6c3',
      },
      tenantAndHeaders,
    );
    expect(text).toBe(
      '{"type":"Delivery","id":"2444a5b328c311ef9a3c525400c0ffee","sender":"news@sender.example","recipient":"alice@example.net","queue":"acme@example.net","site":"unspecified->mx1.example.net@smtp_client","size":2418,"response":{"code":250,"enhanced_code":{"class":2,"subject":0,"detail":0},"content":"Ok: queued as 4W0Tqz2kHbz9sWn","command":".\\r\\n"},"peer_address":{"name":"mx1.example.net.","addr":"198.51.100.25"},"timestamp":1718200407,"event_time":"2024-06-12T13:53:27.905Z","created":1718200406,"created_time":"2024-06-12T13:53:26.398712300Z","num_attempts":0,"bounce_classification":"Uncategorized","egress_pool":"unspecified","egress_source":"unspecified","source_address":{"address":"203.0.113.5:41872"},"feedback_report":null,"meta":{"tenant":"acme"},"headers":{"Subject":"June newsletter","X-Campaign-Id":"summer24"},"delivery_protocol":"ESMTP","reception_protocol":"ESMTP","nodeid":"6f1d2c9e-28b9-11ef-8f3a-525400c0ffee","tls_cipher":"TLS13_AES_256_GCM_SHA384","tls_protocol_version":"TLSv1_3","tls_peer_subject_name":["CN=mx1.example.net"],"session_id":"c7e05a12-6b3d-4e8f-9a41-02d5f7b8e6c3"}',
    );
  });

  it('TransientFailure without TLS omits the tls_* keys (§6.3)', () => {
    const msg = testMessage({ id: '252a818e28c311ef9a3d525400c0ffee', recipients: ['bob@example.org'], size: 2407 });
    const { text } = builder.build(
      {
        type: 'TransientFailure',
        message: msg,
        response: parseResponse(
          '451 4.7.1 <bob@example.org>: Recipient address rejected: Greylisted, try again in 300 seconds',
          'RCPT TO:<bob@example.org>\r\n',
        ),
        site: 'unspecified->mx.example.org@smtp_client',
        peerAddress: { name: 'mx.example.org.', addr: '198.51.100.40' },
        egressPool: 'unspecified',
        egressSource: 'unspecified',
        sourceAddress: { address: '203.0.113.5:52210' },
        deliveryProtocol: 'ESMTP',
        timestampMs: 1718200408117,
        sessionId: '9e2f4d61-0c7a-4b55-8d13-5a6b7c8d9e0f',
      },
      tenantAndHeaders,
    );
    expect(text).toBe(
      '{"type":"TransientFailure","id":"252a818e28c311ef9a3d525400c0ffee","sender":"news@sender.example","recipient":"bob@example.org","queue":"acme@example.org","site":"unspecified->mx.example.org@smtp_client","size":2407,"response":{"code":451,"enhanced_code":{"class":4,"subject":7,"detail":1},"content":"<bob@example.org>: Recipient address rejected: Greylisted, try again in 300 seconds","command":"RCPT TO:<bob@example.org>\\r\\n"},"peer_address":{"name":"mx.example.org.","addr":"198.51.100.40"},"timestamp":1718200408,"event_time":"2024-06-12T13:53:28.117Z","created":1718200407,"created_time":"2024-06-12T13:53:27.905115Z","num_attempts":0,"bounce_classification":"Uncategorized","egress_pool":"unspecified","egress_source":"unspecified","source_address":{"address":"203.0.113.5:52210"},"feedback_report":null,"meta":{"tenant":"acme"},"headers":{"Subject":"June newsletter","X-Campaign-Id":"summer24"},"delivery_protocol":"ESMTP","reception_protocol":"ESMTP","nodeid":"6f1d2c9e-28b9-11ef-8f3a-525400c0ffee","session_id":"9e2f4d61-0c7a-4b55-8d13-5a6b7c8d9e0f"}',
    );
  });

  it('Bounce is classified when a classifier is configured (§6.4)', () => {
    const msg = testMessage({ id: '255ab4d428c311ef9a3e525400c0ffee', recipients: ['carol@example.org'], size: 2411 });
    const { text, record } = builder.build(
      {
        type: 'Bounce',
        message: msg,
        response: parseResponse(
          '550 5.1.1 <carol@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
          'RCPT TO:<carol@example.org>\r\n',
        ),
        site: 'unspecified->mx.example.org@smtp_client',
        peerAddress: { name: 'mx.example.org.', addr: '198.51.100.40' },
        egressPool: 'unspecified',
        egressSource: 'unspecified',
        sourceAddress: { address: '203.0.113.5:52210' },
        deliveryProtocol: 'ESMTP',
        timestampMs: 1718200409004,
        sessionId: '9e2f4d61-0c7a-4b55-8d13-5a6b7c8d9e0f',
      },
      tenantAndHeaders,
    );
    expect(record.bounce_classification).toBe('InvalidRecipient');
    expect(text).toBe(
      '{"type":"Bounce","id":"255ab4d428c311ef9a3e525400c0ffee","sender":"news@sender.example","recipient":"carol@example.org","queue":"acme@example.org","site":"unspecified->mx.example.org@smtp_client","size":2411,"response":{"code":550,"enhanced_code":{"class":5,"subject":1,"detail":1},"content":"<carol@example.org>: Recipient address rejected: User unknown in virtual mailbox table","command":"RCPT TO:<carol@example.org>\\r\\n"},"peer_address":{"name":"mx.example.org.","addr":"198.51.100.40"},"timestamp":1718200409,"event_time":"2024-06-12T13:53:29.004Z","created":1718200408,"created_time":"2024-06-12T13:53:28.221000400Z","num_attempts":0,"bounce_classification":"InvalidRecipient","egress_pool":"unspecified","egress_source":"unspecified","source_address":{"address":"203.0.113.5:52210"},"feedback_report":null,"meta":{"tenant":"acme"},"headers":{"Subject":"June newsletter","X-Campaign-Id":"summer24"},"delivery_protocol":"ESMTP","reception_protocol":"ESMTP","nodeid":"6f1d2c9e-28b9-11ef-8f3a-525400c0ffee","session_id":"9e2f4d61-0c7a-4b55-8d13-5a6b7c8d9e0f"}',
    );
  });

  it('Expiration reports the attempt counter after the increment and no peer (§6.5)', () => {
    const msg = testMessage({
      id: 'c49863cf231b11ef9f07525400c0ffee',
      sender: 'billing@sender.example',
      recipients: ['dave@slow.example'],
      size: 5120,
      numAttempts: 9,
    });
    const { text } = builder.build(
      {
        type: 'Expiration',
        message: msg,
        response: {
          code: 551,
          enhanced_code: { class: 5, subject: 4, detail: 7 },
          content: 'Next delivery time would be 7days 2h 20m 9s 411ms 688us 448ns after creation, which exceeds max_age=7days',
          command: null,
        },
        timestampMs: 1717884785530,
      },
      tenantOnly,
    );
    expect(text).toBe(
      '{"type":"Expiration","id":"c49863cf231b11ef9f07525400c0ffee","sender":"billing@sender.example","recipient":"dave@slow.example","queue":"acme@slow.example","site":"","size":5120,"response":{"code":551,"enhanced_code":{"class":5,"subject":4,"detail":7},"content":"Next delivery time would be 7days 2h 20m 9s 411ms 688us 448ns after creation, which exceeds max_age=7days","command":null},"peer_address":null,"timestamp":1717884785,"event_time":"2024-06-08T22:13:05.530Z","created":1717578764,"created_time":"2024-06-05T09:12:44.118523100Z","num_attempts":9,"bounce_classification":"Uncategorized","egress_pool":null,"egress_source":null,"source_address":null,"feedback_report":null,"meta":{"tenant":"acme"},"headers":{},"delivery_protocol":null,"reception_protocol":"ESMTP","nodeid":"6f1d2c9e-28b9-11ef-8f3a-525400c0ffee"}',
    );
  });

  it('Rejection has no message fields, uses connection meta, parses the reply (§6.7)', () => {
    const { text } = builder.build(
      {
        type: 'Rejection',
        message: null,
        response: parseResponse('550 5.1.1 no such user', 'RCPT TO:<nobody@example.net>'),
        peerAddress: { name: 'host7.unknown.example', addr: '203.0.113.77' },
        timestampMs: 1718201635060,
        sessionId: '0b7c2e94-5d1a-4f3b-a6e8-c9d0e1f2a3b4',
        rejection: { sender: 'promo@unknown.example', recipient: '', connMeta: { hostname: 'mx.local', tenant: null } },
      },
      tenantAndHeaders,
    );
    expect(text).toBe(
      '{"type":"Rejection","id":"","sender":"promo@unknown.example","recipient":"","queue":"","site":"","size":0,"response":{"code":550,"enhanced_code":{"class":5,"subject":1,"detail":1},"content":"no such user","command":"RCPT TO:<nobody@example.net>"},"peer_address":{"name":"host7.unknown.example","addr":"203.0.113.77"},"timestamp":1718201635,"event_time":"2024-06-12T14:13:55.060Z","created":1718201635,"created_time":"2024-06-12T14:13:55.060Z","num_attempts":0,"bounce_classification":"InvalidRecipient","egress_pool":null,"egress_source":null,"source_address":null,"feedback_report":null,"meta":{},"headers":{},"delivery_protocol":null,"reception_protocol":null,"nodeid":"6f1d2c9e-28b9-11ef-8f3a-525400c0ffee","session_id":"0b7c2e94-5d1a-4f3b-a6e8-c9d0e1f2a3b4"}',
    );
  });
});

describe('record builder: field rules', () => {
  it('egress_pool and egress_source each come from their own field', () => {
    const { record, text } = builder.build(
      {
        type: 'Delivery',
        message: testMessage({ id: '2444a5b328c311ef9a3c525400c0ffee' }),
        response: parseResponse('250 ok', '.\r\n'),
        site: 's',
        egressPool: 'pool-a',
        egressSource: 'source-b',
        timestampMs: 1718200407905,
      },
      nothing,
    );
    expect([record.egress_pool, record.egress_source]).toEqual(["pool-a", "source-b"]);
    expect(JSON.parse(text)).toMatchObject({ egress_pool: "pool-a", egress_source: "source-b" });
  });

  it('writes several recipients as an array, is_secure only when true, proxy fields only when set', () => {
    const msg = testMessage({ id: '2444a5b328c311ef9a3c525400c0ffee', recipients: ['a@x.example', 'b@x.example'] });
    const { record, text } = builder.build(
      {
        type: 'Delivery',
        message: msg,
        response: { code: 250, enhanced_code: null, content: 'ok', command: null },
        peerAddress: { name: 'mx.', addr: '192.0.2.1', is_secure: true },
        sourceAddress: { address: '10.0.0.1:0', server: '10.0.0.9:1080', protocol: 'socks5' },
        timestampMs: 1718200407000,
        providerName: 'gmail',
      },
      nothing,
    );
    expect(record.recipient).toEqual(['a@x.example', 'b@x.example']);
    expect(text).toContain('"recipient":["a@x.example","b@x.example"],"queue":"acme@x.example"');
    expect(text).toContain('"peer_address":{"name":"mx.","addr":"192.0.2.1","is_secure":true}');
    expect(text).toContain('"source_address":{"address":"10.0.0.1:0","server":"10.0.0.9:1080","protocol":"socks5"}');
    expect(text).toContain('"event_time":"2024-06-12T13:53:27Z"');
    expect(text.endsWith('"nodeid":"6f1d2c9e-28b9-11ef-8f3a-525400c0ffee","provider_name":"gmail"}')).toBe(true);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(record)));
  });

  it('zero recipients give [], the null sender gives "", and line breaks in content become spaces', () => {
    const msg = testMessage({ sender: '<>', recipients: [] });
    const { text } = builder.build(
      {
        type: 'Bounce',
        message: msg,
        queue: 'q',
        response: { code: 550, enhanced_code: null, content: 'a\r\nb\nc\rd', command: 'DATA\r\n' },
        timestampMs: 1718200407000,
      },
      nothing,
    );
    expect(text).toContain('"sender":"","recipient":[],"queue":"q"');
    expect(text).toContain('"content":"a b c d","command":"DATA\\r\\n"');
  });

  it('writes integral float meta with .0, sorts nested objects, keeps non-ASCII unescaped', () => {
    const msg = testMessage({
      meta: { score: new JsonFloat(5), ratio: 0.25, count: 3, nested: { z: 1, a: { y: true, b: null } }, name: 'héllo "q"\n' },
    });
    const capture = new CompiledCapture({ meta: ['score', 'ratio', 'count', 'nested', 'name'], headers: [] });
    const { text } = builder.build({ type: 'Delivery', message: msg, queue: 'q', response: { code: 250, enhanced_code: null, content: '', command: null } }, capture);
    expect(text).toContain('"meta":{"score":5.0,"ratio":0.25,"count":3,"nested":{"a":{"b":null,"y":true},"z":1},"name":"héllo \\"q\\"\\n"}');
  });

  it('takes reception_protocol only when it is a string; sizes 0 when data is not in memory', () => {
    const msg = testMessage({ meta: { reception_protocol: 42 } });
    Object.defineProperty(msg, 'isDataLoaded', { value: () => false });
    const { record, text } = builder.build({ type: 'Delayed', message: msg, queue: 'q', response: { code: 400, enhanced_code: null, content: 'x', command: null } }, nothing);
    expect(record.reception_protocol).toBeNull();
    expect(record.size).toBe(0);
  });

  it('shares one record between loggers with equal capture settings', () => {
    const prepared = builder.prepare({ type: 'Delivery', message: testMessage(), queue: 'q', response: { code: 250, enhanced_code: null, content: '', command: null } });
    const a = prepared.build(new CompiledCapture({ meta: ['tenant'], headers: [] }));
    const b = prepared.build(new CompiledCapture({ meta: ['tenant'], headers: [] }));
    const c = prepared.build(nothing);
    expect(b).toBe(a);
    expect(c.record.meta).toEqual({});
    expect(a.record.meta).toEqual({ tenant: 'acme' });
  });

  it('defaults the timestamp to the clock and num_attempts to the message counter', () => {
    const msg = testMessage({ numAttempts: 4 });
    const { record, text } = builder.build({ type: 'TransientFailure', message: msg, queue: 'q', response: { code: 451, enhanced_code: null, content: '', command: null } }, nothing);
    expect(record.timestamp).toBe(Math.floor(clock.now() / 1000));
    expect(record.event_time).toBe('2024-06-12T13:53:30Z');
    expect(record.num_attempts).toBe(4);
  });
});
