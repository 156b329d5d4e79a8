import { afterEach, describe, expect, it } from 'vitest';
import { Logging } from '../../src/logging/index.ts';
import type { Message } from '../../src/message/message.ts';
import type { LogRecord } from '../../src/records/log-record.ts';
import type { RecordEvent } from '../../src/records/types.ts';
import { VirtualClock, settle } from '../../src/util/clock.ts';
import { JsonFloat } from '../../src/util/json.ts';
import { NODE_ID, testMessage } from '../helpers/log-records.ts';
import { readSegments, recordLines, tempDir } from '../helpers/segments.ts';

const open: Logging[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});

interface Enqueued {
  msg: Message;
  hookName: string;
  deferredSpool: boolean;
}

function setup(decide: (msg: Message, hook: string) => Promise<boolean> | boolean = () => true) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
  const enqueued: Enqueued[] = [];
  const asked: Array<{ msg: Message; hook: string }> = [];
  const errors: string[] = [];
  const logging = new Logging({
    clock,
    nodeId: NODE_ID,
    onError: (err, where) => errors.push(`${where}: ${(err as Error).message}`),
    callbacks: {
      shouldEnqueue: async (msg, hook) => {
        asked.push({ msg, hook });
        return decide(msg, hook);
      },
      enqueue: async (msg, opts) => {
        enqueued.push({ msg, ...opts });
      },
    },
  });
  open.push(logging);
  return { clock, logging, enqueued, asked, errors };
}

const delivery = (meta: Record<string, unknown> = {}): RecordEvent => ({
  type: 'Delivery',
  message: testMessage({ meta: { tenant: 'acme', campaign: 'june', reception_protocol: 'ESMTP', ...meta } as never }),
  response: { code: 250, enhanced_code: { class: 2, subject: 0, detail: 0 }, content: 'ok', command: '.\r\n' },
  site: 'unspecified->mx.example.net@smtp_client',
});

describe('log hook message construction', () => {
  it('builds a fresh message: envelope from the record, captured meta + log_record + LogRecord, JSON body with newline', async () => {
    const { logging, enqueued, asked } = setup();
    logging.configureLogHook({ name: 'hooky', meta: ['tenant', 'reception_protocol', 'score'], deferred_spool: true });
    const ev = delivery({ score: new JsonFloat(2) });
    await logging.log(ev);
    await logging.flush();
    expect(asked.map((a) => a.hook)).toEqual(['hooky']);
    expect(enqueued).toHaveLength(1);
    const { msg, hookName, deferredSpool } = enqueued[0]!;
    expect(asked[0]!.msg).toBe(msg);
    expect(hookName).toBe('hooky');
    expect(deferredSpool).toBe(true);
    expect(msg.id).toMatch(/^[0-9a-f]{32}$/);
    expect(msg.id).not.toBe(ev.message!.id);
    expect(msg.sender).toBe('news@sender.example');
    expect(msg.recipients).toEqual(['alice@example.net']);
    expect(msg.numAttempts).toBe(0);
    const body = Buffer.from(msg.getData()).toString('utf8');
    expect(body.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(body) as Record<string, unknown>;
    expect(parsed.id).toBe(ev.message!.id);
    expect(parsed.meta).toEqual({ tenant: 'acme', reception_protocol: 'ESMTP', score: 2 });
    expect(body).toContain('"score":2.0');
    expect(Object.keys(msg.metaObject())).toEqual(['tenant', 'reception_protocol', 'score', 'log_record']);
    expect(msg.getMeta('reception_protocol')).toBe('LogRecord');
    expect(msg.getMeta('tenant')).toBe('acme');
    const rec = msg.getMeta('log_record') as unknown as LogRecord;
    expect(rec.type).toBe('Delivery');
    expect(rec.response.command).toBe('.\r\n');
    expect(rec.peer_address).toBeNull();
    // Without a policy-set queue the message would go to the original recipient's domain.
    expect(msg.queueName()).toBe('acme@example.net');
  });

  it('uses the template output as the body, appending a newline only when missing', async () => {
    const { logging, enqueued } = setup();
    logging.configureLogHook({ name: 'a', per_record: { Delivery: { template: '{{ type }} {{ recipient }}' } } });
    logging.configureLogHook({ name: 'b', per_record: { Any: { template: 'x={{ log_record.response.code }}\n\n' } } });
    await logging.log(delivery());
    await logging.flush();
    const bodies = Object.fromEntries(enqueued.map((e) => [e.hookName, Buffer.from(e.msg.getData()).toString()]));
    expect(bodies).toEqual({ a: 'Delivery alice@example.net\n', b: 'x=250\n' });
  });

  it('gives each hook its own meta capture and message', async () => {
    const { logging, enqueued } = setup();
    logging.configureLogHook({ name: 'one', meta: ['tenant'] });
    logging.configureLogHook({ name: 'two', meta: ['camp*'] });
    await logging.log(delivery());
    await logging.flush();
    const byHook = Object.fromEntries(enqueued.map((e) => [e.hookName, e.msg]));
    expect((byHook.one!.getMeta('log_record') as { meta: unknown }).meta).toEqual({ tenant: 'acme' });
    expect((byHook.two!.getMeta('log_record') as { meta: unknown }).meta).toEqual({ campaign: 'june' });
    expect(byHook.two!.queueName()).toBe('june:@example.net');
    expect(byHook.one!.id).not.toBe(byHook.two!.id);
  });

  it('multi-recipient and null-sender records become the log message envelope', async () => {
    const { logging, enqueued } = setup();
    logging.configureLogHook({ name: 'h' });
    await logging.log({ ...delivery(), message: testMessage({ sender: '', recipients: ['a@x.example', 'Postmaster'] }) });
    await logging.flush();
    expect(enqueued[0]!.msg.sender).toBe('');
    expect(enqueued[0]!.msg.recipients).toEqual(['a@x.example', 'Postmaster']);
  });

  it('drops records with no recipient and records render errors, without stopping the hook', async () => {
    const { logging, enqueued, errors } = setup();
    logging.configureLogHook({ name: 'h' });
    await logging.log({ ...delivery(), message: testMessage({ recipients: [] }), queue: 'q' });
    await logging.log(delivery());
    await logging.flush();
    expect(enqueued).toHaveLength(1);
    expect(errors.join()).toMatch(/log hook h: log record has no recipients/);
  });
});

describe('should_enqueue_log_record chaining', () => {
  it('false discards, true enqueues the same (possibly modified) object, errors are logged', async () => {
    const { logging, enqueued, errors } = setup((msg) => {
      const n = (msg.getMeta('log_record') as unknown as LogRecord).response.content;
      if (n === 'throw') throw new Error('handler failed');
      if (n === 'no') return false;
      msg.setMeta('queue', 'hooky.log_hook');
      return true;
    });
    const hook = logging.configureLogHook({ name: 'hooky' });
    for (const content of ['no', 'yes', 'throw']) {
      await logging.log({ ...delivery(), response: { code: 250, enhanced_code: null, content, command: null } });
    }
    await logging.flush();
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]!.msg.queueName()).toBe('hooky.log_hook');
    expect(errors).toEqual(['log hook hooky: handler failed']);
    expect(hook.stats()).toMatchObject({ enqueued: 1, discarded: 1, errors: 1, queued: 0, inFlight: 0 });
  });

  it('with no handler wired nothing is enqueued', async () => {
    const logging = new Logging({ clock: new VirtualClock(), nodeId: NODE_ID });
    open.push(logging);
    const hook = logging.configureLogHook({ name: 'h' });
    await logging.log(delivery());
    await logging.flush();
    expect(hook.stats().discarded).toBe(1);
  });

  it('skips record types disabled by per_record', async () => {
    const { logging, asked } = setup();
    logging.configureLogHook({ name: 'h', per_record: { Delivery: { enable: true }, Any: { enable: false } } });
    await logging.log({ ...delivery(), type: 'Delayed' });
    await logging.log(delivery());
    await logging.flush();
    expect(asked.map((a) => (a.msg.getMeta('log_record') as { type: string }).type)).toEqual(['Delivery']);
  });
});

describe('loop guard', () => {
  it('records about log-hook messages reach local logs but no hook or disposition hook', async () => {
    const { logging, asked } = setup();
    const dir = await tempDir();
    await logging.configureLocalLogs({ log_dir: dir });
    logging.configureLogHook({ name: 'h' });
    logging.configureLogDispositionHook({ name: 'd' });
    const dispositions: string[] = [];
    logging.setCallbacks({ disposition: async (name) => void dispositions.push(name) });

    await logging.log(delivery());
    await logging.flush();
    expect(asked).toHaveLength(1);
    const hookMsg = asked[0]!.msg;
    // The log message itself is delivered (e.g. to a webhook) and its Delivery is logged.
    await logging.log({ type: 'Delivery', message: hookMsg, queue: 'hooky.log_hook', response: { code: 200, enhanced_code: null, content: '200 OK', command: null } });
    await logging.close();
    expect(asked).toHaveLength(1);
    expect(dispositions).toEqual(['d']);
    const lines = recordLines((await readSegments(dir))[0]!.text);
    expect(lines.map((l) => l.reception_protocol)).toEqual(['ESMTP', 'LogRecord']);
    expect(lines[1]!.queue).toBe('hooky.log_hook');
  });

  it('without a local log, a record about a log-hook message is not even built', async () => {
    const { logging, asked } = setup();
    logging.configureLogHook({ name: 'h' });
    await logging.log(delivery());
    await logging.flush();
    const hookMsg = asked[0]!.msg;
    let prepared = 0;
    const prepare = logging.builder.prepare.bind(logging.builder);
    logging.builder.prepare = (event) => (prepared++, prepare(event));
    await logging.log({ type: 'Delivery', message: hookMsg, queue: 'hooky.log_hook', response: { code: 200, enhanced_code: null, content: '200 OK', command: null } });
    await logging.flush();
    expect(prepared).toBe(0);
    expect(asked).toHaveLength(1);
    await logging.log(delivery());
    expect(prepared).toBe(1);
  });
});

describe('back_pressure', () => {
  it('bounds queued and in-flight records; producers wait instead of memory growing', async () => {
    const gates: Array<() => void> = [];
    const { logging, enqueued } = setup(() => new Promise<boolean>((resolve) => gates.push(() => resolve(true))));
    const hook = logging.configureLogHook({ name: 'slow', back_pressure: 4 });
    let resolved = 0;
    const producers = Array.from({ length: 50 }, () => logging.log(delivery()).then(() => resolved++));
    for (let i = 0; i < 20; i++) await settle();
    const s = hook.stats();
    expect(s.inFlight).toBe(4);
    expect(gates).toHaveLength(4);
    expect(s.queued).toBeLessThanOrEqual(4);
    // 4 in flight + 4 queued + 1 taken by the worker waiting for a permit; everyone else is still waiting.
    expect(resolved).toBeLessThanOrEqual(9);
    expect(s.backlogCount).toBeGreaterThanOrEqual(1);
    expect(s.submitFull).toBeGreaterThan(0);

    for (let round = 0; round < 100 && enqueued.length < 50; round++) {
      for (const open of gates.splice(0)) open();
      for (let i = 0; i < 5; i++) await settle();
      expect(hook.stats().inFlight).toBeLessThanOrEqual(4);
      expect(hook.stats().queued).toBeLessThanOrEqual(4);
    }
    await Promise.all(producers);
    await logging.flush();
    expect(enqueued).toHaveLength(50);
    expect(resolved).toBe(50);
  });
});

describe('hook registration', () => {
  it('rejects unknown keys and duplicate names across hook kinds', () => {
    const { logging } = setup();
    expect(() => logging.configureLogHook({ name: 'h', filter_event: 'x' })).toThrow(/kumo.configure_log_hook: unknown option 'filter_event'/);
    expect(() => logging.configureLogHook({ meta: [] })).toThrow(/option 'name' is required/);
    expect(() => logging.configureLogHook({ name: 'h', back_pressure: 0 })).toThrow(/back_pressure/);
    logging.configureLogHook({ name: 'h' });
    expect(() => logging.configureLogHook({ name: 'h' })).toThrow('A logging hook with name `h` has already been registered');
    expect(() => logging.configureLogDispositionHook({ name: 'h' })).toThrow(/already been registered/);
    expect(() => logging.configureLogDispositionHook({ name: 'd', meta: [] })).toThrow(/configure_log_disposition_hook: unknown option 'meta'/);
  });
});

describe('disposition hooks', () => {
  it('are awaited with the original message and a record without meta/headers; never for Rejection', async () => {
    const { logging } = setup();
    logging.configureLogDispositionHook({ name: 'disp', per_record: { Bounce: { enable: false } } });
    logging.configureLogHook({ name: 'h', meta: ['tenant'] });
    const seen: Array<{ name: string; msg: Message; record: LogRecord }> = [];
    let release!: () => void;
    logging.setCallbacks({
      disposition: (name, msg, record) => {
        seen.push({ name, msg, record });
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    const ev = delivery();
    let done = false;
    const p = logging.log(ev).then(() => (done = true));
    for (let i = 0; i < 10; i++) await settle();
    expect(done).toBe(false);
    release();
    await p;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.name).toBe('disp');
    expect(seen[0]!.msg).toBe(ev.message);
    expect(seen[0]!.record.meta).toEqual({});
    expect(seen[0]!.record.headers).toEqual({});
    await logging.log({ ...delivery(), type: 'Bounce' });
    await logging.log({ type: 'Rejection', message: null, response: { code: 550, enhanced_code: null, content: '', command: null }, rejection: { sender: '', recipient: '', connMeta: {} } });
    expect(seen).toHaveLength(1);
  });
});

describe('counters', () => {
  it('counts records by type', async () => {
    const { logging } = setup();
    await logging.log(delivery());
    await logging.log(delivery());
    await logging.log({ ...delivery(), type: 'Bounce' });
    expect(logging.stats().recordsLogged).toEqual({ Delivery: 2, Bounce: 1 });
  });
});
