import { describe, expect, it } from 'vitest';
import { newLua, errorOf } from '../helpers/lua.ts';

describe('policy-extras.docker_utils', () => {
  it('parse_getent keeps the IPv4 addresses of STREAM lines', async () => {
    const out = '172.18.0.5      STREAM tsa\n172.18.0.5      DGRAM  \n172.18.0.6      STREAM \n';
    expect(await newLua().eval(`return require('policy-extras.docker_utils').parse_getent(${JSON.stringify(out)})`)).toEqual(['172.18.0.5', '172.18.0.6']);
  });

  it('refuses names that are not host names (they go to a shell)', async () => {
    expect(await errorOf(newLua().eval(`return require('policy-extras.docker_utils').resolve_docker_name('x; rm -rf /')`))).toMatch(/"x; rm -rf \/" is not a host name/);
  });

  it('resolves localhost through getent and formats TSA endpoints with addresses (needs io.popen from reliability)', async () => {
    const r = await newLua().eval(`
      local d = require 'policy-extras.docker_utils'
      return d.resolve_docker_name('localhost')
    `);
    expect(r).toContain('127.0.0.1');
  });
});
