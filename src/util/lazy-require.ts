/**
 * CommonJS dependencies loaded on first use instead of at startup: the CLI
 * (`--validate`, `--script`, `test`) loads the whole module graph, and
 * packages such as mailauth, kafkajs or undici cost 0.1–0.5 s of CPU each to
 * load while most policies never call them. Resolved from this package's own
 * node_modules, like a static import.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** A getter that `require`s `id` on its first call and returns the same module after. */
export function lazyRequire<T>(id: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= requireHere(id) as T);
}
