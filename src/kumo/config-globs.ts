/**
 * Glob walking shared by the config monitor (kumo.eval_config_monitor_globs)
 * and kumo.fs.glob: tinyglobby underneath, with KumoMTA's syntax (`*`, `?`,
 * `[...]`, `**`, `{a,b}`) checked up front so a typo raises instead of
 * silently matching nothing.
 */
import { statSync } from 'node:fs';
import path from 'node:path';

/** Raises for unbalanced `[`/`{` (the mistakes that otherwise match nothing). */
export function checkGlobSyntax(pattern: string): void {
  let brace = 0;
  let bracket = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (bracket) {
      if (c === ']') bracket = false;
      continue;
    }
    if (c === '[') bracket = true;
    else if (c === '{') brace++;
    else if (c === '}' && --brace < 0) break;
  }
  if (bracket || brace !== 0) throw new Error(`invalid glob pattern ${JSON.stringify(pattern)}: unbalanced ${bracket ? "'['" : "'{' or '}'"}`);
}

export interface GlobOptions {
  /** Base for relative patterns; results of relative patterns stay relative to it. */
  relativeTo: string;
  onlyFiles: boolean;
}

/** Matches of one pattern: absolute patterns give absolute paths, relative ones paths relative to `relativeTo`. */
export async function walkGlob(pattern: string, opts: GlobOptions): Promise<string[]> {
  checkGlobSyntax(pattern);
  const absolute = path.isAbsolute(pattern);
  const { glob } = await import('tinyglobby'); // loaded by the first glob, not at startup
  const found = await glob([pattern], {
    cwd: absolute ? '/' : opts.relativeTo,
    absolute,
    onlyFiles: opts.onlyFiles,
    dot: true,
    followSymbolicLinks: true,
    expandDirectories: false,
  });
  return found.map((p) => (p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p));
}

/** `eval_config_monitor_globs`: sorted, de-duplicated absolute paths of regular files. */
export async function evalMonitorGlobs(patterns: readonly string[]): Promise<string[]> {
  const all = new Set<string>();
  for (const pattern of patterns) {
    const abs = path.isAbsolute(pattern) ? pattern : path.join('/', pattern);
    for (const p of await walkGlob(abs, { relativeTo: '/', onlyFiles: true })) {
      try {
        if (statSync(p).isFile()) all.add(p);
      } catch {
        // vanished between the walk and the stat
      }
    }
  }
  return [...all].sort();
}
