import { describe, expect, it } from 'vitest';
import { newLua } from '../helpers/lua.ts';

/** Runs `code` after `local typing = require 'policy-extras.typing'`; returns its first result. */
async function run(code: string) {
  return newLua().eval(`local typing = require 'policy-extras.typing'\n${code}`);
}

/** The error text of calling `expr` (a Lua function value) with pcall, without the position prefix. */
function errorOf(setup: string, call: string) {
  return run(`${setup}\nlocal ok, err = pcall(${call})\nassert(not ok, 'expected an error')\nreturn (tostring(err):gsub('^[^:]+:%d+: ', ''))`);
}

describe('policy-extras.typing scalars', () => {
  it('accepts matching values and returns them', async () => {
    expect(await run(`return { typing.string('a'), typing.number(1.5), typing.boolean(false), typing.any({ 1 }) }`)).toEqual(['a', 1.5, false, [1]]);
  });

  it('phrases mismatches like serde (the (S+) inner message)', async () => {
    expect(await errorOf('', `typing.string, 5`)).toBe('string: invalid type: integer `5`, expected a string');
    expect(await errorOf('', `typing.integer, 'x'`)).toBe('integer: invalid type: string "x", expected an integer');
    expect(await errorOf('', `typing.integer, 1.5`)).toBe('integer: invalid type: floating point `1.5`, expected an integer');
    expect(await errorOf('', `typing.boolean, nil`)).toBe('boolean: invalid type: nil, expected a boolean');
    expect(await errorOf('', `typing.any, nil`)).toBe('any: invalid type: nil, expected any value');
  });

  it('converts integral floats to integers', async () => {
    expect(await run(`return math.type(typing.integer(25.0))`)).toBe('integer');
  });

  it('recognises humantime durations', async () => {
    expect(await run(`return { typing.duration('1h 30m'), typing.duration('1.5 hours'), typing.duration(90), typing.duration('20 minutes') }`)).toEqual(['1h 30m', '1.5 hours', 90, '20 minutes']);
    expect(await errorOf('', `typing.duration, '10'`)).toBe('duration: invalid value: string "10", expected a duration');
    expect(await errorOf('', `typing.duration, '5 parsecs'`)).toBe('duration: invalid value: string "5 parsecs", expected a duration');
    expect(await errorOf('', `typing.duration, -1`)).toMatch(/expected a duration/);
  });
});

describe('policy-extras.typing constructors', () => {
  it('option accepts nil, default fills it with a copy', async () => {
    expect(await run(`
      local O = typing.option(typing.string)
      local D = typing.default(typing.list(typing.string), { 'x' })
      local a, b = D(nil), D(nil)
      table.insert(a, 'y')
      return { O(nil) == nil, O('s'), #a, #b }
    `)).toEqual([true, 's', 2, 1]);
  });

  it('default refuses a default value of the wrong type', async () => {
    expect(await errorOf('', `typing.default, typing.string, 5`)).toBe('default: the default value does not match string: invalid type: integer `5`, expected a string');
  });

  it('list checks every element and names the bad index', async () => {
    expect(await errorOf('', `typing.list(typing.string), { 'a', 'b', 3 }`)).toBe('list<string>[3]: invalid type: integer `3`, expected a string');
    expect(await errorOf('', `typing.list(typing.string), { a = 1 }`)).toBe('list<string>: invalid type: table, expected a sequence (list of string)');
    expect(await run(`return #typing.list(typing.number)({ 1, 2, 3 })`)).toBe(3);
  });

  it('map checks keys and values and names the key', async () => {
    expect(await errorOf('', `typing.map(typing.string, typing.integer), { a = 1, b = 'two' }`)).toBe('map<string, integer>.b: invalid type: string "two", expected an integer');
    expect(await errorOf('', `typing.map(typing.string, typing.any), { [1] = true }`)).toBe('map<string, any>: key integer `1`: invalid type: integer `1`, expected a string');
    expect(await errorOf('', `typing.map(typing.string, typing.integer), { ['x-y'] = false }`)).toBe('map<string, integer>["x-y"]: invalid type: boolean `false`, expected an integer');
  });

  it('enum lists the variants like serde', async () => {
    expect(await errorOf(`local S = typing.enum('Strategy', { 'Ttl', 'Epoch' })`, `S, 'ttl'`)).toBe('Strategy: unknown variant `ttl`, expected one of `Ttl`, `Epoch`');
    expect(await run(`return typing.enum('Strategy', { 'Ttl', 'Epoch' })('Epoch')`)).toBe('Epoch');
    // KumoMTA's helper takes the variants as arguments.
    expect(await run(`return typing.enum('Strategy', 'Ttl', 'Epoch')('Ttl')`)).toBe('Ttl');
    expect(await errorOf(`local S = typing.enum('Strategy', 'Ttl', 'Epoch')`, `S, 'ttl'`)).toBe('Strategy: unknown variant `ttl`, expected one of `Ttl`, `Epoch`');
  });

  it('variant is a union of two or more types (KumoMTA\'s name)', async () => {
    expect(await run(`return typing.variant(typing.number, typing.string)('x')`)).toBe('x');
    expect(await run(`return (pcall(typing.variant, typing.number))`)).toBe(false);
    expect(await run(`return select(2, pcall(typing.variant, typing.number))`)).toMatch(/must have a list of 2 or more variants, 1 were provided/);
  });

  it('union takes the first member that matches and explains a miss', async () => {
    const setup = `local U = typing.union(typing.string, typing.list(typing.string))`;
    expect(await run(`${setup}\nreturn { U('a'), U({ 'b' }) }`)).toEqual(['a', ['b']]);
    expect(await errorOf(setup, `U, 5`)).toBe(
      'string | list<string>: integer `5` did not match any of string | list<string> (string: invalid type: integer `5`, expected a string; list<string>: invalid type: integer `5`, expected a sequence (list of string))',
    );
  });

  it('refine adds a predicate', async () => {
    const setup = `local P = typing.refine(typing.integer, 'port', function(v) if v < 1 or v > 65535 then return 'must be 1..65535, got ' .. v end end)`;
    expect(await run(`${setup}\nreturn P(25)`)).toBe(25);
    expect(await errorOf(setup, `P, 70000`)).toBe('port: must be 1..65535, got 70000');
  });

  it('rejects things that are not types where a type is expected', async () => {
    expect(await errorOf('', `typing.list, 'string'`)).toBe('list: expected a type from policy-extras.typing, got string "string"');
  });
});

describe('policy-extras.typing records', () => {
  const Server = `local Server = typing.record('Server', {
    host = typing.string,
    port = typing.default(typing.integer, 25),
    tags = typing.option(typing.list(typing.string)),
  })`;

  it('validates, copies and fills defaults', async () => {
    expect(await run(`${Server}\nlocal input = { host = 'mx' }\nlocal s = Server(input)\nreturn { s.host, s.port, s.tags == nil, rawequal(s, input) }`)).toEqual(['mx', 25, true, false]);
  });

  it('reports unknown, missing and mistyped fields with serde wording', async () => {
    expect(await errorOf(Server, `Server, { host = 'mx', prot = 2525 }`)).toBe('Server: unknown field `prot`, expected one of `host`, `port`, `tags`');
    expect(await errorOf(Server, `Server, { port = 1 }`)).toBe('Server: missing field `host`');
    expect(await errorOf(Server, `Server, { host = 'mx', tags = { 'a', {} } }`)).toBe('Server.tags[2]: invalid type: table, expected a string');
    expect(await errorOf(Server, `Server, 'mx'`)).toBe('Server: invalid type: string "mx", expected struct Server');
  });

  it('nests records and reports the full path', async () => {
    const setup = `${Server}\nlocal Pool = typing.record('Pool', { servers = typing.list(Server) })`;
    expect(await errorOf(setup, `Pool, { servers = { { host = 'a' }, { host = 7 } } }`)).toBe('Pool.servers[2].host: invalid type: integer `7`, expected a string');
  });

  it('catches typos when reading or assigning fields of a checked value', async () => {
    expect(await errorOf(`${Server}\nlocal s = Server { host = 'mx' }`, `function() return s.hots end`)).toBe('Server has no field `hots` (fields: `host`, `port`, `tags`)');
    expect(await errorOf(`${Server}\nlocal s = Server { host = 'mx' }`, `function() s.tags = 'x' end`)).toBe('Server.tags: invalid type: string "x", expected a sequence (list of string)');
    expect(await run(`${Server}\nlocal s = Server { host = 'mx' }\ns.tags = { 'a' }\nreturn s.tags`)).toEqual(['a']);
  });

  it('reports the caller line, so the policy author sees their own file', async () => {
    const t = newLua();
    await t.load(`
      local typing = require 'policy-extras.typing'
      local R = typing.record('R', { a = typing.string })
      local ok, err = pcall(function()
        local r = R { a = 1 }
        return r
      end)
      ERR = err
    `, 'init.lua');
    expect(await t.eval('return ERR')).toBe('init.lua:5: R.a: invalid type: integer `1`, expected a string');
  });

  it('check returns false and the text instead of raising; is_valid answers yes/no', async () => {
    expect(await run(`${Server}\nlocal ok, err = Server:check({ host = 1 }, 'config')\nreturn { ok, err, Server:is_valid({ host = 'a' }) }`)).toEqual([false, 'config.host: invalid type: integer `1`, expected a string', true]);
  });

  it('offers the capitalised aliases', async () => {
    expect(await run(`return typing.Record == typing.record and typing.Option == typing.option and typing.List == typing.list and typing.Map == typing.map and typing.String == typing.string and typing.Any == typing.any and typing.Boolean == typing.boolean and typing.Number == typing.number and typing.Enum == typing.enum`)).toBe(true);
  });
});

describe('policy-extras.typing and KumoMTA host errors', () => {
  it('extracts the serde message from an (S+) error', async () => {
    expect(await run(`return typing.extract_deserialize_error('deserialize error: unknown field \`foo\`, expected one of \`a\`, while processing {"foo":1}')`)).toBe('unknown field `foo`, expected one of `a`');
    expect(await run(`return typing.extract_deserialize_error('some other failure') == nil`)).toBe(true);
  });

  it('from_constructor turns a host constructor into a type with a readable error', async () => {
    const setup = `local C = typing.from_constructor('QueueConfig', function(t)
      if t.retry_interval == true then error('deserialize error: invalid type: boolean \`true\`, expected a duration, while processing {"retry_interval":true}') end
      return t
    end)
    local Hook = typing.record('Hook', { queue = C })`;
    expect(await errorOf(setup, `Hook, { queue = { retry_interval = true } }`)).toBe('Hook.queue: invalid type: boolean `true`, expected a duration');
    expect(await run(`${setup}\nreturn Hook({ queue = { retry_interval = '1m' } }).queue.retry_interval`)).toBe('1m');
  });
});
