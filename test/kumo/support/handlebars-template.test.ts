import { describe, expect, it } from 'vitest';
import { renderHandlebars } from '../../../src/kumo/support/handlebars-template.ts';

describe('Handlebars templates', () => {
  it('expands variables, sections and each', () => {
    expect(renderHandlebars('t.txt', 'Hi {{name}}', { name: 'John' })).toBe('Hi John');
    expect(renderHandlebars('t.txt', '{{#each xs}}[{{this}}]{{/each}}{{#if no}}x{{else}}y{{/if}}', { xs: [1, 2] })).toBe('[1][2]y');
    expect(renderHandlebars('t.txt', 'a{{missing}}b', {})).toBe('ab');
  });
  it('escapes HTML only for .html, .htm and .xml names', () => {
    expect(renderHandlebars('t.html', '{{v}}', { v: '<b>&"' })).toBe('&lt;b&gt;&amp;&quot;');
    expect(renderHandlebars('t.htm', '{{v}}', { v: '<' })).toBe('&lt;');
    expect(renderHandlebars('t.xml', '{{v}}', { v: '<' })).toBe('&lt;');
    expect(renderHandlebars('t.html', '{{{v}}}', { v: '<' })).toBe('<');
    expect(renderHandlebars('t.txt', '{{v}}', { v: '<b>' })).toBe('<b>');
  });
  it('does not JSON-encode for .json names', () => {
    expect(renderHandlebars('t.json', '{{name}}', { name: 'John' })).toBe('John');
  });
  it('names the template in a syntax error', () => {
    expect(() => renderHandlebars('bad.txt', '{{#if x}}', {})).toThrow(/bad\.txt/);
  });
});
