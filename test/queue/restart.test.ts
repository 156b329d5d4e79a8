/** spool_message_enumerated at start-up (lua-api-more.md §8.4; checklist 72) on a real daemon and SQLite spool. */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { luaPath, makeStateDir, startDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { Message } from '../../src/message/message.ts';
import { SqliteSpool } from '../../src/spool/sqlite-spool.ts';

let daemon: TestDaemon | undefined;
let stateDir: string | undefined;
afterEach(async () => {
  await daemon?.stop({ keepState: true });
  daemon = undefined;
  if (stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
  stateDir = undefined;
});

const policy = (handler: string) => (dir: string) => `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = ${luaPath(dir + '/spool/data')} }
  kumo.define_spool { name = 'meta', path = ${luaPath(dir + '/spool/meta')} }
end)
kumo.on('get_queue_config', function()
  return kumo.make_queue_config { protocol = { maildir_path = ${luaPath(dir + '/maildir')} } }
end)
kumo.on('spool_message_enumerated', function(msg)
  ${handler}
end)`;

/** kumo-lua keeps messages in one SQLite spool: the directory of the 'meta' spool. */
async function seed(dir: string): Promise<string> {
  const spool = new SqliteSpool({ path: `${dir}/spool/meta` });
  const msg = new Message({ sender: 's@origin.example', recipients: ['r@dest.example'], data: new TextEncoder().encode('Subject: x\r\n\r\nx\r\n') });
  msg.due = Date.now() + 3600_000;
  await spool.save(msg);
  spool.close();
  return msg.id;
}

describe('spool_message_enumerated', () => {
  it('an error in the handler aborts start-up', async () => {
    stateDir = makeStateDir();
    await seed(stateDir);
    await expect(startDaemon({ stateDir, policy: policy(`error('cannot enumerate ' .. msg:id())`) })).rejects.toThrow(/cannot enumerate [0-9a-f]{32}/);
  });

  it('runs per spooled message before queuing; meta it sets is saved', async () => {
    stateDir = makeStateDir();
    const id = await seed(stateDir);
    daemon = await startDaemon({ stateDir, policy: policy(`msg:set_meta('seen_at_start', true)`) });
    await daemon.stop({ keepState: true });
    daemon = undefined;
    const spool = new SqliteSpool({ path: `${stateDir}/spool/meta` });
    expect(spool.load(id)!.getMeta('seen_at_start')).toBe(true);
    spool.close();
  });
});
