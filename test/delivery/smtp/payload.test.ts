/** The payload bytes on the wire (smtp-delivery.md §3.7): dot-stuffing and the terminator, seen by a scripted server. */
import { describe, expect, it } from 'vitest';
import { mail, waitRecords, smtpFixtures } from './engine.ts';

const f = smtpFixtures();

/** Everything the client wrote after the 354, up to the end of the terminator. */
async function wire(body: string): Promise<string> {
  const { mx, e } = await f.scripted();
  await e.manager.insert(mail(['a@example.org'], { clock: e.clock, body }));
  const [ev] = await waitRecords(e, 1);
  expect(ev!.type).toBe('Delivery');
  const all = mx.chunks.join('');
  const start = all.indexOf('DATA\r\n') + 'DATA\r\n'.length;
  // The terminator is the first LF "." CRLF (stuffed lines have ".." after their LF).
  return all.slice(start, all.indexOf('\n.\r\n', start) + 4);
}

describe('payload on the wire (checklist 49, 50)', () => {
  it('a payload starting with "." gets it doubled; ends with CRLF → "." CRLF follows', async () => {
    expect(await wire('.hidden first line\r\n\r\nbody\r\n')).toBe('..hidden first line\r\n\r\nbody\r\n.\r\n');
  });

  it('no final newline → CRLF "." CRLF; dots after a line break are doubled', async () => {
    expect(await wire('Subject: x\r\n\r\n.a\r\nlast')).toBe('Subject: x\r\n\r\n..a\r\nlast\r\n.\r\n');
  });
});
