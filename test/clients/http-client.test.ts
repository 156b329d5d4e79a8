/**
 * The TypeScript core of kumo.http: the injectable dispatcher (undici
 * MockAgent), redirect rules and error descriptions.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { MockAgent } from 'undici';
import { HttpClient } from '../../src/clients/http/client.ts';
import { HTTP_DISPATCHER_FACTORY, setHttpDispatcherFactory, sharedDispatcher } from '../../src/clients/http/dispatcher.ts';
import { nextHop } from '../../src/clients/http/redirect.ts';
import { describeCause, HttpTimeoutError } from '../../src/clients/http/errors.ts';
import { buildUrl, encodeFormUrlEncoded } from '../../src/clients/http/forms.ts';
import { newLua } from '../helpers/lua.ts';

function mockAgent(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  return agent;
}

afterEach(() => {
  setHttpDispatcherFactory(undefined);
});

describe('injectable dispatcher', () => {
  test('a MockAgent plugged into HttpClient receives the same request the wire would', async () => {
    const agent = mockAgent();
    let seen: Record<string, string> = {};
    agent
      .get('http://hooks.example')
      // Bodies reach the dispatcher as Buffers: match them with a function.
      .intercept({ path: '/in', method: 'POST', body: (b: unknown) => String(b) === 'payload' })
      .reply((opts) => {
        // Headers reach the dispatcher as a flat [name, value, name, value...] array.
        const flat = opts.headers as unknown as string[];
        for (let i = 0; i < flat.length; i += 2) seen[flat[i]!] = flat[i + 1]!;
        return { statusCode: 202, data: 'ok', responseOptions: { headers: { 'x-r': '1' } } };
      });
    const client = new HttpClient({ userAgent: 'ua' }, { dispatcherFactory: sharedDispatcher(agent) });
    const res = await client.post('http://hooks.example/in').header('X-Sig', 'abc').body('payload').send();
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('ok');
    expect(seen).toMatchObject({ 'x-sig': 'abc', accept: '*/*', 'user-agent': 'ua' });
    client.close();
    await agent.close();
  });

  test('Lua clients use the ServiceSlot factory, else the process-wide one', async () => {
    const agent = mockAgent();
    agent.get('http://slot.example').intercept({ path: '/a' }).reply(200, 'from slot');
    agent.get('http://global.example').intercept({ path: '/b' }).reply(200, 'from global');
    const viaSlot = newLua();
    viaSlot.ctx.provide(HTTP_DISPATCHER_FACTORY, sharedDispatcher(agent));
    expect(await viaSlot.eval(`return kumo.http.build_client{}:get('http://slot.example/a'):send():text()`)).toBe('from slot');
    setHttpDispatcherFactory(sharedDispatcher(agent));
    expect(await newLua().eval(`return kumo.http.build_client{}:get('http://global.example/b'):send():text()`)).toBe('from global');
    await agent.close();
  });

  test('a mocked network error becomes the send error', async () => {
    const agent = mockAgent();
    agent.get('http://down.example').intercept({ path: '/' }).replyWithError(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:80'), { code: 'ECONNREFUSED', address: '10.0.0.1', port: 80 }));
    const client = new HttpClient({}, { dispatcherFactory: sharedDispatcher(agent) });
    await expect(client.get('http://down.example/').send()).rejects.toThrow('error sending request for url (http://down.example/): connection refused to 10.0.0.1:80');
    await agent.close();
  });
});

describe('redirect rules', () => {
  const hop = (method: string, url: string, headers: [string, string][] = [], body?: string) => ({
    method,
    url: new URL(url),
    headers,
    body: body === undefined ? undefined : Buffer.from(body),
  });

  test('303 turns PUT into GET, HEAD stays HEAD', () => {
    expect(nextHop(hop('PUT', 'http://a/x', [], 'b'), 303, '/y')).toMatchObject({ method: 'GET', body: undefined });
    expect(nextHop(hop('HEAD', 'http://a/x'), 303, '/y').method).toBe('HEAD');
  });

  test('credentials are dropped when the port changes, kept on the same host', () => {
    const creds: [string, string][] = [['authorization', 'x'], ['cookie', 'c'], ['x-other', 'o']];
    expect(nextHop(hop('GET', 'http://a:1/x', creds), 302, 'http://a:2/y').headers.map(([n]) => n)).toEqual(['x-other', 'referer']);
    expect(nextHop(hop('GET', 'http://a:1/x', creds), 302, '/y').headers.map(([n]) => n)).toEqual(['authorization', 'cookie', 'x-other', 'referer']);
  });

  test('no Referer from https to http; Referer loses userinfo and fragment', () => {
    expect(nextHop(hop('GET', 'https://a/x'), 302, 'http://b/').headers).toEqual([]);
    expect(nextHop(hop('GET', 'http://u:p@a/x#f'), 302, '/y').headers).toEqual([['referer', 'http://a/x']]);
  });
});

describe('helpers', () => {
  test('describeCause unwraps AggregateError (happy eyeballs) and timeouts', () => {
    const agg = Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED', address: '::1', port: 9 })]), {});
    expect(describeCause(agg, new URL('http://localhost:9/'))).toBe('connection refused to [::1]:9');
    expect(describeCause(new HttpTimeoutError(1500), new URL('http://a/'))).toBe('timed out after 1.5s');
  });

  test('form encoding keeps *-._ and writes space as +', () => {
    expect(encodeFormUrlEncoded([['a b', 'ü*-._~!']])).toBe('a+b=%C3%BC*-._%7E%21');
    expect(buildUrl('http://h/p#', [['a', '1']])).toBe('http://h/p?a=1#');
  });
});
