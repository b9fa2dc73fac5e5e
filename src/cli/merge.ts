/**
 * `pinsim merge <result.json>...`: join the JSON results of `pinsim explore --shard i/n --json` into
 * one verdict (Sometimes if any shard saw it; counts summed; exhaustive only if every shard was).
 */
import { readFileSync } from 'node:fs';
import { mergeResults, type ExploreResult } from '../explore/explore.js';
import { parseArgs, UsageError } from './args.js';
import type { CommandSpec } from './args.js';
import { printResult } from './explore.js';

export const MERGE_SPEC: CommandSpec = {
  name: 'merge',
  operands: '<result.json>...',
  minOperands: 1,
  maxOperands: Infinity,
  summary: 'join sharded explore results (explore --json) into one verdict',
  flags: { json: { value: false, doc: 'print the merged result as JSON' } },
};

export async function cmdMerge(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, MERGE_SPEC);
  const parts = p.operands.map((f) => {
    let r: ExploreResult;
    try {
      r = JSON.parse(readFileSync(f, 'utf8')) as ExploreResult;
    } catch (e) {
      throw new UsageError(`${f}: not an explore result (${(e as Error).message})`, 'merge');
    }
    if (!Array.isArray(r.verdicts)) throw new UsageError(`${f}: not an explore result (no verdicts)`, 'merge');
    return r;
  });
  const keys = new Set(parts.map((r) => `${r.scenario}|${r.policy}|${r.strategy}`));
  if (keys.size > 1) throw new UsageError(`the results are of different explorations: ${[...keys].join('; ')}`, 'merge');
  const m = mergeResults(parts);
  if (p.flags['json'] === true) process.stdout.write(JSON.stringify(m, null, 2) + '\n');
  else printResult(m, (l) => process.stdout.write(l + '\n'));
  return m.verdicts.some((v) => v.kind === 'forbid' && v.verdict === 'Sometimes') ? 1 : 0;
}
