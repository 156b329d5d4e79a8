/**
 * kumo.configure_bounce_classifier and kumo.generate_rfc3464_message
 * (lua-api-more §6). The classifier is process-wide (src/bounce); records of
 * the classifiable types pick it up wherever they are built.
 */
import { lua } from '../lua/fengari.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { toJson } from '../lua/marshal.ts';
import { isNoneOrNil } from '../lua/args.ts';
import { describeValue } from './support/struct-args.ts';
import { BounceClassifier, BounceClassifierError, classifyRecord, installBounceClassifier } from '../bounce/index.ts';
import { LOGGING_SLOT } from '../logging/index.ts';
import { ServiceSlot, type KumoContext } from './context.ts';
import { generateDsn, parseDsnParams } from '../bounce/dsn.ts';
import { Message } from '../message/message.ts';
import { checkMessage, pushMessage } from '../message/lua-binding.ts';
import { isJsonObject, type JsonValue } from '../util/json.ts';
import type { ModuleTable } from './module-table.ts';

/** The classifier this policy context configured; its presence makes a second call fail. */
export const BOUNCE_CLASSIFIER = new ServiceSlot<BounceClassifier>('the bounce classifier');

const CLASSIFIER_FIELDS = ['files', 'back_pressure', 'pool_size', 'cache_size', 'uncategorized_cache_size'];

function classifierOptions(v: JsonValue, shown: string): { files: string[]; cacheSize?: number; uncategorizedCacheSize?: number } {
  const fail = (why: string): never => {
    throw new Error(`deserialize error: ${why}, while processing ${shown}`);
  };
  if (!isJsonObject(v)) return fail('invalid type, expected a map');
  for (const key of Object.keys(v)) {
    if (!CLASSIFIER_FIELDS.includes(key)) fail(`unknown field \`${key}\`, expected one of \`${CLASSIFIER_FIELDS.join('`, `')}\``);
  }
  if (v.files === undefined) fail('missing field `files`');
  // An empty Lua table arrives as {}: it is an empty list here.
  const files = isJsonObject(v.files) && Object.keys(v.files).length === 0 ? [] : v.files;
  if (!Array.isArray(files) || files.some((f) => typeof f !== 'string')) fail('`files` must be an array of file names');
  for (const key of ['back_pressure', 'pool_size', 'cache_size', 'uncategorized_cache_size']) {
    const n = v[key];
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < 0)) fail(`\`${key}\` must be a non-negative integer`);
  }
  return {
    files: files as string[],
    ...(typeof v.cache_size === 'number' ? { cacheSize: v.cache_size } : {}),
    ...(typeof v.uncategorized_cache_size === 'number' ? { uncategorizedCacheSize: v.uncategorized_cache_size } : {}),
  };
}

export function register(kumo: ModuleTable, ctx: KumoContext): void {
  kumo.fn('configure_bounce_classifier', (L) => {
    const options = classifierOptions(toJson(L, 1), describeValue(L, 1));
    if (ctx.optional(BOUNCE_CLASSIFIER)) throw new BounceClassifierError('classifier already initialized');
    const classifier = new BounceClassifier(options);
    ctx.provide(BOUNCE_CLASSIFIER, classifier);
    installBounceClassifier(classifier);
    ctx.optional(LOGGING_SLOT)?.setClassifier((type, response) => classifyRecord(type, response, classifier));
    return 0;
  });

  kumo.fn('generate_rfc3464_message', asyncFunction('kumo.generate_rfc3464_message', async (L) => {
    const params = parseDsnParams(toJson(L, 1));
    const original = isNoneOrNil(L, 2) ? null : checkMessage(L, 2).getData();
    const record = toJson(L, 3);
    if (!isJsonObject(record)) throw new Error('generate_rfc3464_message: log_record must be a table');
    const dsn = generateDsn(params, original, record, Math.floor(ctx.clock.now() / 1000));
    return (Ls) => {
      if (!dsn) lua.lua_pushnil(Ls);
      else pushMessage(Ls, new Message({ sender: dsn.sender, recipients: [dsn.recipient], data: dsn.data, meta: {}, createdMs: ctx.clock.now() }));
      return 1;
    };
  }));
}
