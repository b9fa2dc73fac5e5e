/**
 * `pinsim replay <replay.json>`: re-run a saved counterexample's exact schedule, tell its story,
 * and compare the trace hash. Exit 0 when it reproduces the saved hash, 1 when it does not.
 */
import { replay } from '../explore/replay.js';
import { formatRunText } from '../report/text.js';
import { loadScenarioInput } from '../scenario/format/load.js';
import { defaultRegistry } from '../scenario/registry.js';
import { parseArgs } from './args.js';
import type { CommandSpec } from './args.js';

export const REPLAY_SPEC: CommandSpec = {
  name: 'replay',
  operands: '<replay.json>',
  minOperands: 1,
  maxOperands: 1,
  summary: "re-run a saved counterexample's schedule exactly and check its trace hash",
  flags: {},
};

export async function cmdReplay(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, REPLAY_SPEC);
  const file = p.operands[0] as string;
  const input = await loadScenarioInput(file, {});
  const o = replay(input, defaultRegistry(), file);
  process.stdout.write(formatRunText(o.result) + '\n');
  if (o.reproduced) {
    process.stdout.write(`replay reproduced traceHash ${o.result.traceHash}\n`);
    return 0;
  }
  process.stdout.write(`replay did NOT reproduce: expected traceHash ${o.expected || '(none saved)'}, got ${o.result.traceHash}\n`);
  // Why, when the saved choices did not fit this run's choice points (the notes say where).
  for (const n of o.result.notes ?? []) if (n.includes('choice')) process.stdout.write(`  ${n}\n`);
  return 1;
}
