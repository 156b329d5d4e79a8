import { describe, expect, it } from 'vitest';
import { CompiledContent } from '../../../src/server/http/inject-content.ts';
import { parseInjectRequest } from '../../../src/server/http/inject-request.ts';

async function render(content: string, name = 'Ann'): Promise<string> {
  const request = parseInjectRequest(JSON.stringify({ envelope_sender: 's@x.example', recipients: [{ email: 'a@y.example', name }], content }));
  const compiled = new CompiledContent(request);
  return (await compiled.render(request.recipients[0]!)).toString('utf8');
}

describe('inject content templates', () => {
  it('text with no tag opener comes out unchanged (lone braces, percent signs, trailing newline)', async () => {
    const text = 'Subject: 100% {not a tag} }}\r\n\r\nprice {5} %} #}\r\n\r\n';
    expect(await render(text)).toBe(text.replace('\r\n\r\nprice', '\r\nMIME-Version: 1.0\r\n\r\nprice'));
  });

  it('each tag opener still goes through the template engine', async () => {
    expect(await render('Subject: {{ name }}\r\n\r\nx\r\n')).toContain('Subject: Ann\r\n');
    expect(await render('Subject: {% if true %}yes{% endif %}\r\n\r\nx\r\n')).toContain('Subject: yes\r\n');
    expect(await render('Subject: a{# gone #}b\r\n\r\nx\r\n')).toContain('Subject: ab\r\n');
  });
});
