import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeStateDir, runCli } from '../helpers/daemon.ts';
import { NEVER_FIRED_EVENTS, neverFiredWarnings } from '../../src/kumo/never-fired.ts';

const dir = makeStateDir('kumo-validate-warn-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('--validate warns about handlers kumo-lua never fires', () => {
  it('lists only registered never-fired events, sorted', () => {
    expect(neverFiredWarnings(['init', 'xfer_message_received', 'smtp_server_message_deferred_inject'])).toEqual([
      `warning: a handler for 'smtp_server_message_deferred_inject' is registered, but kumo-lua never fires that event: ${NEVER_FIRED_EVENTS.smtp_server_message_deferred_inject}`,
      `warning: a handler for 'xfer_message_received' is registered, but kumo-lua never fires that event: ${NEVER_FIRED_EVENTS.xfer_message_received}`,
    ]);
    expect(neverFiredWarnings(['init', 'get_egress_source', 'smtp_server_ehlo', 'rebind_message'])).toEqual([]);
    // Events of KumoMTA's other programs and of DMARC reporting are never fired either.
    expect(neverFiredWarnings(['tsa_init', 'proxy_init', 'dmarc_report_generated']).map((w) => w.split("'")[1])).toEqual(['dmarc_report_generated', 'proxy_init', 'tsa_init']);
  });

  it('the CLI prints the warning and still validates OK', async () => {
    const file = path.join(dir, 'xfer.lua');
    fs.writeFileSync(file, ["local kumo = require 'kumo'", "kumo.on('xfer_message_received', function(msg, auth) end)", `kumo.on('init', function() kumo.define_spool { name = 'data', path = '${dir}/spool' } kumo.define_spool { name = 'meta', path = '${dir}/spool' } end)`].join('\n'));
    const r = await runCli(['--validate', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: OK\n`);
    expect(r.stderr).toMatch(/a handler for 'xfer_message_received' is registered, but kumo-lua never fires that event/);
  }, 90_000);
});
