/**
 * Readable renderings of Lua values for test failures: a compact one-line
 * form and a line diff of pretty-printed expected vs actual values.
 */
import { diffLines } from 'diff';
import { toJsonText, type JsonValue } from '../util/json.ts';

/** One-line rendering, strings quoted. */
export function show(value: JsonValue | undefined): string {
  if (value === undefined) return 'nil';
  if (value === null) return 'nil';
  const text = toJsonText(value, { sortKeys: true });
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** A line diff, `- expected` / `+ actual`, of the pretty-printed values. */
export function formatDiff(expected: JsonValue | undefined, actual: JsonValue | undefined): string {
  const render = (v: JsonValue | undefined) => (v === undefined || v === null ? 'nil' : toJsonText(v, { pretty: true, sortKeys: true })) + '\n';
  const out: string[] = ['  - expected', '  + actual', ''];
  for (const part of diffLines(render(expected), render(actual))) {
    const prefix = part.added ? '+ ' : part.removed ? '- ' : '  ';
    for (const line of part.value.replace(/\n$/, '').split('\n')) out.push(`  ${prefix}${line}`);
  }
  return out.join('\n');
}
