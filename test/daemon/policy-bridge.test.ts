/** The engine hooks' Lua side: rebind_message(msg, data) (lua-api-more.md §8.4). */
import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';
import { makeMessage } from '../helpers/engine.ts';
import { engineHooks } from '../../src/daemon/policy-bridge.ts';

describe('engineHooks.rebindMessage', () => {
  it('fires rebind_message with the message and the data table; false when no handler is registered', async () => {
    const bare = newLua();
    const msg = makeMessage('r@example.com');
    expect(await engineHooks(bare.ctx).rebindMessage!(msg, { queue: 'x' })).toBe(false);
    expect(msg.getMeta('queue')).toBeUndefined();

    const t = newLua();
    await t.load(`
      local kumo = require 'kumo'
      kumo.on('rebind_message', function(msg, data)
        msg:set_meta('queue', data.target .. '.example')
        msg:set_meta('seen', data.other)
      end)`);
    expect(await engineHooks(t.ctx).rebindMessage!(msg, { target: 'new', other: 'o' })).toBe(true);
    expect(msg.getMeta('queue')).toBe('new.example');
    expect(msg.getMeta('seen')).toBe('o');
  });
});
