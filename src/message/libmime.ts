/**
 * libmime, loaded on the first header that needs it: with iconv-lite and
 * encoding-japanese it is ~2 MB of code that `--validate`, `--script` and most
 * policy tests never run, and compiling it was a tenth of the CLI's start-up.
 */
import { lazyRequire } from '../util/lazy-require.ts';

export const libmime = lazyRequire<typeof import('libmime').default>('libmime');
