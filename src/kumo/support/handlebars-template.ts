/**
 * The 'Handlebars' dialect of kumo.string.eval_template (clients.md §7), on
 * handlebars.js. As in KumoMTA, a name ending .html/.htm/.xml escapes HTML in
 * `{{x}}`; every other name (.json included: Handlebars has no JSON escaper)
 * renders values as they are. `{{{x}}}` never escapes.
 */
import { lazyRequire } from '../../util/lazy-require.ts';

const handlebars = lazyRequire<typeof import('handlebars')>('handlebars');

const HTML_NAME = /\.(html|htm|xml)$/i;

/** Renders `source` with `context`; `name` picks the escaping and names the template in errors. */
export function renderHandlebars(name: string, source: string, context: unknown): string {
  const env = handlebars().create();
  try {
    const template = env.compile(source, { noEscape: !HTML_NAME.test(name) });
    return template(context ?? {});
  } catch (e) {
    throw new Error(`kumo.string.eval_template: Handlebars template ${name}: ${(e as Error).message}`);
  }
}

/** Compiles once for many renders (HTTP injection); no escaping, like its Jinja templates. Throws on bad syntax. */
export function compileHandlebars(source: string): (context: unknown) => string {
  const template = handlebars().create().compile(source, { noEscape: true, strict: false });
  // handlebars.js compiles lazily: the first render would report a syntax error.
  template({});
  return (context) => template(context ?? {});
}
