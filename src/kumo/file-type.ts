/**
 * kumo.file_type (lua-api-more.md §3.12): guesses what a blob of bytes is
 * (magic numbers, through the `file-type` package) and maps extensions and
 * media types to each other (through `mime-db`). Every answer is a table
 * `{ name, extensions, media_types }`; `from_bytes` always answers (text that
 * matches no signature is `text/plain`, anything else
 * `application/octet-stream`), the two look-ups answer with arrays.
 *
 * `name` is our own short label: the primary extension in capitals ("PNG",
 * "PDF"), or a fixed label for the two fallbacks. KumoMTA's names come from a
 * database kumo-lua does not bundle.
 */
import type { LuaState } from '../lua/fengari.ts';
import { argBytes, argString } from '../lua/args.ts';
import { asyncFunction } from '../lua/host-function.ts';
import { pushJson } from '../lua/marshal.ts';
import { decodeUtf8Strict } from '../lua/strings.ts';
import { lazyRequire } from '../util/lazy-require.ts';
import type { JsonValue } from '../util/json.ts';
import type { KumoContext } from './context.ts';
import type { ModuleTable } from './module-table.ts';

export interface FileTypeInfo {
  name: string;
  extensions: string[];
  media_types: string[];
}

type MimeDb = Record<string, { extensions?: string[] }>;
const mimeDb = lazyRequire<MimeDb>('mime-db');

let byExtension: Map<string, string[]> | undefined;

/** Media types per extension, in mime-db order (built once). */
function extensionIndex(): Map<string, string[]> {
  if (byExtension) return byExtension;
  byExtension = new Map();
  for (const [type, entry] of Object.entries(mimeDb())) {
    for (const ext of entry.extensions ?? []) {
      const list = byExtension.get(ext) ?? [];
      list.push(type);
      byExtension.set(ext, list);
    }
  }
  return byExtension;
}

function info(mediaType: string, extensions: string[], name?: string): FileTypeInfo {
  return { name: name ?? (extensions[0] ?? mediaType).toUpperCase(), extensions, media_types: [mediaType] };
}

export const PLAIN_TEXT: FileTypeInfo = { name: 'Plain Text', extensions: ['txt'], media_types: ['text/plain'] };
export const ARBITRARY_BINARY: FileTypeInfo = { name: 'Arbitrary Binary Data', extensions: ['bin'], media_types: ['application/octet-stream'] };

export function fromMediaType(type: string): FileTypeInfo[] {
  const key = type.trim().toLowerCase();
  const entry = mimeDb()[key];
  return entry ? [info(key, [...(entry.extensions ?? [])])] : [];
}

export function fromExtension(ext: string): FileTypeInfo[] {
  const key = ext.trim().replace(/^\./, '').toLowerCase();
  const types = extensionIndex().get(key) ?? [];
  return types.map((t) => info(t, [...(mimeDb()[t]!.extensions ?? [])]));
}

/** Text: valid UTF-8 with no control characters other than whitespace. */
function looksLikeText(bytes: Uint8Array): boolean {
  const text = decodeUtf8Strict(bytes);
  return text !== undefined && !/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text);
}

export async function fromBytes(bytes: Uint8Array): Promise<FileTypeInfo> {
  const { fileTypeFromBuffer } = await import('file-type');
  const found = await fileTypeFromBuffer(bytes);
  if (found) {
    // mime-db knows more extensions for most types; keep file-type's first.
    const known = mimeDb()[found.mime]?.extensions ?? [];
    return info(found.mime, [found.ext, ...known.filter((e) => e !== found.ext)]);
  }
  return looksLikeText(bytes) ? { ...PLAIN_TEXT } : { ...ARBITRARY_BINARY };
}

function pushInfo(L: LuaState, v: FileTypeInfo | FileTypeInfo[]): number {
  pushJson(L, v as unknown as JsonValue);
  return 1;
}

export function register(kumo: ModuleTable, _ctx: KumoContext): void {
  kumo.sub('file_type').fns({
    from_bytes: asyncFunction('kumo.file_type.from_bytes', async (L) => {
      const result = await fromBytes(argBytes(L, 1));
      return (Lr: LuaState) => pushInfo(Lr, result);
    }),
    from_extension: (L) => pushInfo(L, fromExtension(argString(L, 1))),
    from_media_type: (L) => pushInfo(L, fromMediaType(argString(L, 1))),
  });
}
