/**
 * YAML for kumo.serde (clients.md §6.4) on the `yaml` package, shaped like
 * serde_yaml 0.9: one document only, block style, sequences not indented
 * under their key, floats always with a fraction (`1.0`), ambiguous strings
 * single-quoted, no leading `---`.
 */
import type { Document } from 'yaml';
import { lazyRequire } from '../../util/lazy-require.ts';
import { JsonFloat, type JsonValue } from '../../util/json.ts';
import { SerdeBytes, floatToSerde, type SerdeValue } from './lua-value.ts';

/** The `yaml` package (72 files) loads on the first YAML call, not at startup. */
const yaml = lazyRequire<typeof import('yaml')>('yaml');

export class YamlCodecError extends Error {}

export function yamlToJson(text: string): JsonValue {
  const docs = yaml().parseAllDocuments(text, { intAsBigInt: true });
  if (!Array.isArray(docs)) return null; // an empty stream
  if (docs.length > 1) throw new YamlCodecError('deserializing from YAML containing more than one document is not supported');
  if (docs.length === 0) return null;
  const doc = docs[0]!;
  if (doc.errors.length > 0) throw new YamlCodecError(doc.errors[0]!.message);
  return fromYaml(doc.toJS({ maxAliasCount: 10_000 }));
}

function fromYaml(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return floatToSerde(v) as number | JsonFloat;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(fromYaml);
  if (v instanceof Map) {
    const out: { [key: string]: JsonValue } = Object.create(null);
    for (const [k, x] of v) out[String(k)] = fromYaml(x);
    return out;
  }
  if (typeof v === 'object') {
    const out: { [key: string]: JsonValue } = Object.create(null);
    for (const [k, x] of Object.entries(v as object)) out[k] = fromYaml(x);
    return out;
  }
  throw new YamlCodecError(`unsupported YAML value ${String(v)}`);
}

function toNode(v: SerdeValue): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return new (yaml().Scalar)(v);
  if (v instanceof SerdeBytes) throw new YamlCodecError('serialization of bytes is not supported by YAML');
  if (typeof v === 'number' || v instanceof JsonFloat) {
    const n = typeof v === 'number' ? v : v.value;
    const s = new (yaml().Scalar)(n);
    // Integral floats keep a fraction, as serde_yaml prints them.
    if (v instanceof JsonFloat && Number.isFinite(n)) s.minFractionDigits = 1;
    return s;
  }
  if (Array.isArray(v)) {
    const seq = new (yaml().YAMLSeq)();
    for (const x of v) seq.items.push(toNode(x));
    return seq;
  }
  const map = new (yaml().YAMLMap)();
  for (const [k, x] of v.entries) map.items.push(new (yaml().Pair)(new (yaml().Scalar)(k), toNode(x)));
  return map;
}

export function serdeToYaml(v: SerdeValue): string {
  const doc = new (yaml().Document)();
  doc.contents = toNode(v) as Document['contents'];
  return doc.toString({ indentSeq: false, singleQuote: true, lineWidth: 0, minContentWidth: 0 });
}
