import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/queue/config-reader.ts';
import { defaultEgressPathConfig, parseEgressPathConfig, shutdownTimeoutMs, watchdogTimeoutMs } from '../../src/queue/egress-path-config.ts';
import { defaultQueueConfig, parseQueueConfig, queueConfigToJson, shrinkPolicyFor } from '../../src/queue/queue-config.ts';
import { parseThrottleSpec } from '../../src/queue/throttle.ts';
import { JsonFloat } from '../../src/util/json.ts';

describe('parseQueueConfig', () => {
  it('has KumoMTA defaults', () => {
    const c = parseQueueConfig({});
    expect(c).toEqual(defaultQueueConfig());
    expect(c.retryIntervalMs).toBe(1_200_000);
    expect(c.maxAgeMs).toBe(604_800_000);
    expect(c.maxRetryIntervalMs).toBeNull();
    expect(c.protocol).toEqual({ kind: 'smtp', mxList: [], treatMxListAsSecure: false, options: {} });
    expect(c.reapIntervalMs).toBe(600_000);
    expect(c.refreshIntervalMs).toBe(60_000);
    expect(c.strategy).toBe('SingletonTimerWheel');
  });

  it('parses custom_lua with batch defaults', () => {
    const c = parseQueueConfig({ retry_interval: '1m', max_retry_interval: 1200, protocol: { custom_lua: { constructor: 'make.webhook' } } });
    expect(c.protocol).toEqual({ kind: 'custom_lua', constructor: 'make.webhook', batchSize: 1, minBatchSize: 1, maxBatchLatencyMs: 0 });
    expect(c.retryIntervalMs).toBe(60_000);
    expect(c.maxRetryIntervalMs).toBe(1_200_000);
    const b = parseQueueConfig({ protocol: { custom_lua: { constructor: 'x', batch_size: 100, min_batch_size: 10, max_batch_latency: '15s' } } });
    expect(b.protocol).toMatchObject({ batchSize: 100, minBatchSize: 10, maxBatchLatencyMs: 15_000 });
  });

  it('parses maildir and shrink_policy', () => {
    const c = parseQueueConfig({
      protocol: { maildir_path: '/var/mail/{{ local_part }}', dir_mode: 0o775 },
      shrink_policy: [{ interval: '1m', policy: 'ShrinkData' }, { interval: '1h', policy: 'ShrinkDataAndMeta' }],
    });
    expect(c.protocol).toEqual({ kind: 'maildir', maildirPath: '/var/mail/{{ local_part }}', dirMode: 0o775, fileMode: null });
    expect(shrinkPolicyFor(c, 30_000)).toBe('ShrinkDataAndMeta');
    expect(shrinkPolicyFor(c, 120_000)).toBe('ShrinkData');
    expect(shrinkPolicyFor(c, 7_200_000)).toBe('ShrinkDataAndMeta');
    expect(shrinkPolicyFor(defaultQueueConfig(), 5)).toBe('ShrinkDataAndMeta');
  });

  it('rejects unknown keys and bad values naming the key', () => {
    expect(() => parseQueueConfig({ retry_intervl: '1m' })).toThrow(/unknown field `retry_intervl`, expected one of `retry_interval`/);
    expect(() => parseQueueConfig({ retry_interval: 'soon' })).toThrow(/`retry_interval`: invalid value: string "soon", expected a duration/);
    expect(() => parseQueueConfig({ max_age: -5 })).toThrow(/max_age/);
    expect(() => parseQueueConfig({ protocol: { custom_lua: { constructor: 'x', batch_size: new JsonFloat(2) } } })).toThrow(/protocol\.custom_lua\.batch_size/);
    expect(() => parseQueueConfig({ protocol: { custom_lua: { constructr: 'x' } } })).toThrow(/unknown field `protocol\.custom_lua\.constructr`/);
    expect(() => parseQueueConfig({ protocol: { custom_lua: {} } })).toThrow(/missing field `protocol\.custom_lua\.constructor`/);
    expect(() => parseQueueConfig({ protocol: { carrier_pigeon: {} } })).toThrow(/untagged enum/);
    expect(() => parseQueueConfig({ strategy: 'Fast' })).toThrow(/unknown variant `Fast`/);
    expect(() => parseQueueConfig({ max_message_rate: '10/fortnight' })).toThrow(/max_message_rate/);
    try {
      parseQueueConfig({ egress_pool: 5 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).field).toBe('egress_pool');
    }
  });

  it('serialises durations as humantime', () => {
    const json = queueConfigToJson(parseQueueConfig({ retry_interval: 90, protocol: { custom_lua: { constructor: 'c', max_batch_latency: 2 } } }));
    expect(json.retry_interval).toBe('1m 30s');
    expect(json.max_age).toBe('7days');
    expect(json.protocol).toEqual({ custom_lua: { constructor: 'c', batch_size: 1, min_batch_size: 1, max_batch_latency: '2s' } });
  });
});

describe('parseEgressPathConfig', () => {
  it('has the code defaults (idle_timeout 5 s, not the documented 60 s)', () => {
    const c = defaultEgressPathConfig();
    expect(c.connectionLimit).toEqual({ limit: 32, local: false });
    expect(c.maxDeliveriesPerConnection).toBe(1024);
    expect(c.maxReady).toBe(16384); // kumo-lua's default (KumoMTA: 1024), see README
    expect(c.timeouts.idleTimeoutMs).toBe(5000);
    expect(c.consecutiveConnectionFailuresBeforeDelay).toBe(100);
    expect(shutdownTimeoutMs(c)).toBe(1_200_000);
    expect(watchdogTimeoutMs(c)).toBe(600_000);
    expect(c.aggressiveConnectionOpening).toBe(false);
  });

  it('parses limits, throttles and accepts SMTP-only keys', () => {
    const c = parseEgressPathConfig({
      connection_limit: 'local:1_000', additional_connection_limits: { shared: 4 }, max_message_rate: '100/s',
      idle_timeout: '60s', enable_tls: 'Required', smtp_port: 2525, max_ready: 10,
    });
    expect(c.connectionLimit).toEqual({ limit: 1000, local: true });
    expect(c.additionalConnectionLimits.shared).toEqual({ limit: 4, local: false });
    expect(c.maxMessageRate).toMatchObject({ limit: 100, periodMs: 1000 });
    expect(c.timeouts.idleTimeoutMs).toBe(60_000);
    expect(c.smtpOptions).toEqual({ enable_tls: 'Required', smtp_port: 2525 });
    expect(c.maxReady).toBe(10);
  });

  it('rejects unknown keys and bad values naming the key', () => {
    expect(() => parseEgressPathConfig({ connection_limt: 3 })).toThrow(/unknown field `connection_limt`/);
    expect(() => parseEgressPathConfig({ connection_limit: 0 })).toThrow(/connection_limit/);
    expect(() => parseEgressPathConfig({ idle_timeout: 'x' })).toThrow(/idle_timeout/);
    expect(() => parseEgressPathConfig({ max_ready: 'many' })).toThrow(/max_ready/);
  });
});

describe('parseThrottleSpec', () => {
  it('parses the grammar', () => {
    expect(parseThrottleSpec('10/5m')).toMatchObject({ limit: 10, periodMs: 300_000, maxBurst: 10, local: false });
    expect(parseThrottleSpec('local:1,000/hour,max_burst=5')).toMatchObject({ limit: 1000, periodMs: 3_600_000, maxBurst: 5, local: true });
    expect(() => parseThrottleSpec('0/s')).toThrow();
    expect(() => parseThrottleSpec('10')).toThrow();
  });
});
