/**
 * `pinsim replay <replay.json> [--json] [--trace text|json|chrome] [--out FILE]`: re-run a saved
 * counterexample's exact schedule with run's outputs (its story, or the result as JSON, and its
 * trace, e.g. for Perfetto), and compare the trace hash. Exit 0 when it reproduces the saved hash,
 * 1 when it does not, or when the file's hash schema is not this pinsim's (it says so).
 */
import { replay } from '../explore/replay.js';
import { loadScenarioInput } from '../scenario/format/load.js';
import { defaultRegistry } from '../scenario/registry.js';
import { parseArgs } from './args.js';
import type { CommandSpec } from './args.js';
import { OUTPUT_FLAGS, runOutput, writeRun } from './output.js';

export const REPLAY_SPEC: CommandSpec = {
  name: 'replay',
  operands: '<replay.json>',
  minOperands: 1,
  maxOperands: 1,
  summary: "re-run a saved counterexample's schedule exactly, with run's outputs, and check its trace hash",
  flags: { ...OUTPUT_FLAGS },
};

export async function cmdReplay(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, REPLAY_SPEC);
  const o = runOutput(p, 'replay');
  const file = p.operands[0] as string;
  const input = await loadScenarioInput(file, {});
  const { scenario, result, expected, reproduced, mismatch } = replay(input, defaultRegistry(), file, o.listener);
  writeRun(result, scenario, o, 'replay');
  // The verdict on the hash goes with the report, or to stderr when stdout holds a JSON document.
  const say = o.json ? process.stderr : o.report;
  if (reproduced) {
    say.write(`replay reproduced traceHash ${result.traceHash}\n`);
    return 0;
  }
  // The saved hash is of another schema (what it covers changed), else it just differs.
  say.write(`replay did NOT reproduce: ${mismatch ?? `expected traceHash ${expected || '(none saved)'}, got ${result.traceHash}`}\n`);
  // Why, when the saved choices did not fit this run's choice points (the notes say where).
  for (const n of result.notes ?? []) if (n.includes('choice')) say.write(`  ${n}\n`);
  return 1;
}
