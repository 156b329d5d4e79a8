import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decompress } from 'zstd-napi';

export async function tempDir(prefix = 'kumo-logs-'): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

export interface SegmentInfo {
  name: string;
  readOnly: boolean;
  text: string;
  compressedBytes: number;
}

/** Every segment file in `dir`, sorted by name, decompressed. */
export async function readSegments(dir: string): Promise<SegmentInfo[]> {
  const names = (await fsp.readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  const out: SegmentInfo[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const st = await fsp.stat(file);
    if (!st.isFile()) continue;
    const raw = await fsp.readFile(file);
    out.push({ name, readOnly: (st.mode & 0o222) === 0, text: decompress(raw).toString('utf8'), compressedBytes: raw.length });
  }
  return out;
}

export function recordLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}
