import { describe, expect, it } from 'vitest';
import { errorOf, newLua } from '../helpers/lua.ts';
import { checkTargetUrl } from '../../src/kumo/xfer.ts';

const MSG = "local msg = kumo.make_message('a@x.test', 'b@y.test', 'Subject: x\\r\\n\\r\\nhi')\n";

describe('kumo.xfer on a single node', () => {
  it('accepts xfer_in_requeue and says once, at info, that the message stays here', async () => {
    const t = newLua();
    expect(await t.eval(`${MSG}
      kumo.xfer.xfer_in_requeue(msg, 'http://10.0.0.2:8000', { 'Requeue' }, true, '60s', 'reroute')
      kumo.xfer.xfer_in_requeue(msg, 'https://backup:8000/', nil, false, nil)
      return msg:queue_name() ~= nil`)).toBe(true);
    const infos = t.log.lines.filter((l) => l.message.includes('kumo.xfer.xfer_in_requeue'));
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ level: 'info' });
    expect(infos[0]!.message).toMatch(/single node/);
  });

  it('checks its arguments', async () => {
    const t = newLua();
    expect(await errorOf(t.eval("kumo.xfer.xfer_in_requeue('x', 'http://a:1', nil, true)"))).toMatch(/Message expected/);
    expect(await errorOf(t.eval(`${MSG} kumo.xfer.xfer_in_requeue(msg, 'http://a:1', nil, 'yes')`))).toMatch(/increment_attempts must be a boolean/);
    expect(await errorOf(t.eval(`${MSG} kumo.xfer.xfer_in_requeue(msg, 'http://a:1', nil, true, {})`))).toMatch(/delay must be nil or a duration/);
    expect(await errorOf(t.eval(`${MSG} kumo.xfer.xfer_in_requeue(msg, 'ftp://a', nil, true)`))).toMatch(/http or https/);
  });

  it('wants a URL prefix as the target', () => {
    expect(checkTargetUrl('http://10.0.0.2:8000').origin).toBe('http://10.0.0.2:8000');
    expect(() => checkTargetUrl('http://a:8000/api/xfer')).toThrow(/without path or query/);
    expect(() => checkTargetUrl('http://a?x=1')).toThrow(/without path or query/);
    expect(() => checkTargetUrl('backup')).toThrow(/not a URL/);
  });

  it('keeps the message-moving functions not provided', async () => {
    expect(await errorOf(newLua().eval(`${MSG} kumo.xfer.xfer(msg, 'http://a:1')`))).toMatch(/kumo\.xfer\.xfer is not provided/);
  });
});
