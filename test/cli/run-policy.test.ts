import { describe, expect, it } from 'vitest';
import { errorHint } from '../../src/cli/run-policy.ts';

describe('errorHint', () => {
  it('explains a nil index on the global kumo (a snippet pasted without the require)', () => {
    expect(errorHint("init.lua:1: attempt to index a nil value (global 'kumo')")).toBe(
      "hint: kumo is a module, not a global: start the policy with `local kumo = require 'kumo'`",
    );
  });

  it('gives no hint for other errors', () => {
    expect(errorHint("init.lua:1: attempt to index a nil value (global 'msg')")).toBeUndefined();
    expect(errorHint('kumo.xfer.xfer is not provided by kumo-lua')).toBeUndefined();
  });
});
