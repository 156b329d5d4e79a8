/** `kumo-lua test`: placeholder until the policy test harness lands. */
export async function runTestCommand(_files: string[], _luaPaths: string[]): Promise<number> {
  process.stderr.write('kumo-lua test: not available yet\n');
  return 2;
}
