/**
 * The kumo module as KumoMTA's own helper modules (policy-extras.*) use it:
 * every function, Message method and Shaping method lua-api-more.md §11 lists
 * under "Calls" must be a real function of the module table (not a
 * "not provided" stub reached through __index), so a KumoMTA share directory
 * on --lua-path finds everything it calls. Behaviour is tested per function
 * elsewhere (docs/conformance-lua-api-more.md maps each one).
 */
import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';

/** §11.1–§11.8 "Calls", as paths under `kumo`. */
const KUMO_CALLS = {
  sources: ['memoize', 'on', 'make_egress_source', 'make_egress_pool', 'toml_load', 'json_load', 'validation_failed'],
  queue: [
    'memoize', 'on', 'make_queue_config', 'domain_map.new', 'dns.lookup_mx', 'invoke_get_egress_path_config', 'make_throttle',
    'reject', 'eval_config_monitor_globs', 'get_event_registrars', 'traceback', 'validation_failed', 'toml_load', 'json_load',
  ],
  shaping: [
    'shaping.load', 'memoize', 'on', 'make_egress_path', 'make_queue_config', 'configure_log_hook', 'spawn_task',
    'http.build_client', 'http.connect_websocket', 'json_parse', 'serde.json_encode', 'bump_config_epoch',
    'api.admin.suspend_ready_q.suspend', 'api.admin.suspend.suspend', 'api.admin.bounce.bounce', 'reject', 'sleep',
    'log_error', 'log_warn', 'log_info', 'log_debug', 'validation_failed',
  ],
  dkim_sign: ['memoize', 'domain_map.new', 'dkim.rsa_sha256_signer', 'dkim.ed25519_signer', 'reject', 'make_message', 'validation_failed', 'on'],
  listener_domains: ['memoize', 'domain_map.new', 'make_listener_domain', 'on', 'validation_failed'],
  rollup: ['dns.lookup_mx', 'dns.lookup_addr'],
  mail_auth: ['spf.check_msg', 'dmarc.check_msg', 'dns.lookup_ptr', 'dns.lookup_addr'],
  docker_utils: ['memoize'],
} as const;

const MESSAGE_CALLS = [
  'import_scheduling_header', 'get_first_named_header_value', 'remove_all_named_headers', 'get_meta', 'set_meta', 'recipient_list',
  'from_header', 'dkim_sign', 'dkim_verify', 'arc_verify', 'add_authentication_results', 'sender',
];

const SHAPING_METHODS = ['get_egress_path_config', 'get_errors', 'get_warnings', 'get_referenced_sources', 'match_rules', 'hash'];

/** Lua returning the paths (of `names`) that are not a function reached by rawget from `kumo`. */
function missingKumo(names: readonly string[]): string {
  return `
    local missing = {}
    for _, path in ipairs { ${names.map((n) => `'${n}'`).join(', ')} } do
      local v = kumo
      for part in path:gmatch('[^.]+') do v = type(v) == 'table' and rawget(v, part) or nil end
      if type(v) ~= 'function' then missing[#missing + 1] = path end
    end
    return table.concat(missing, ', ')`;
}

describe('the kumo module for KumoMTA helper modules (lua-api-more §11)', () => {
  for (const [helper, names] of Object.entries(KUMO_CALLS)) {
    it(`has every kumo function policy-extras.${helper} calls`, async () => {
      expect(await newLua().eval(missingKumo(names))).toBe('');
    });
  }

  it('standard library pieces the helpers use: collectgarbage, io.popen, os.getenv', async () => {
    expect(await newLua().eval('return { type(collectgarbage), type(io.popen), type(os.getenv) }')).toEqual(['function', 'function', 'function']);
  });

  it('has every Message method the helpers call', async () => {
    expect(await newLua().eval(`
      local msg = kumo.make_message('a@x.test', 'b@y.test', 'Subject: x\\r\\n\\r\\nhi')
      local missing = {}
      for _, name in ipairs { ${MESSAGE_CALLS.map((n) => `'${n}'`).join(', ')} } do
        if type(msg[name]) ~= 'function' then missing[#missing + 1] = name end
      end
      return table.concat(missing, ', ')`)).toBe('');
  });

  it('kumo.shaping.load returns a Shaping object with every method policy-extras.shaping calls', async () => {
    expect(await newLua().eval(`
      local data = kumo.shaping.load {}
      local missing = {}
      for _, name in ipairs { ${SHAPING_METHODS.map((n) => `'${n}'`).join(', ')} } do
        if type(data[name]) ~= 'function' then missing[#missing + 1] = name end
      end
      return { table.concat(missing, ', '), #data:get_errors() }`)).toEqual(['', 0]);
  });
});
