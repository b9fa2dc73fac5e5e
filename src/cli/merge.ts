/**
 * `pinsim merge <result.json>...`: join the JSON results of `pinsim explore --shard i/n --json` into
 * one verdict: counts and final states summed, exhaustive only if every shard was, the verdicts
 * judged again on the totals. Exit statuses as explore's.
 */
import { readFileSync } from 'node:fs';
import { mergeResults, type ExploreResult } from '../explore/explore.js';
import { parseArgs, UsageError } from './args.js';
import type { CommandSpec } from './args.js';
import { exitOf, printResult } from './explore.js';

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
  // A missing shard would let the others claim Never for a space they did not cover.
  const n = parts[0]?.shard?.count ?? 1;
  const got = parts.map((r) => r.shard ?? { index: 0, count: 1 });
  if (got.some((s) => s.count !== n)) throw new UsageError(`the results are of different shardings: ${got.map((s) => `${s.index}/${s.count}`).join(', ')}`, 'merge');
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => got.filter((s) => s.index === i).length !== 1);
  if (missing.length) throw new UsageError(`every shard i/${n} must be given once; missing or repeated: ${missing.map((i) => `${i}/${n}`).join(', ')}`, 'merge');
  const m = mergeResults(parts);
  if (p.flags['json'] === true) process.stdout.write(JSON.stringify(m, null, 2) + '\n');
  else printResult(m, (l) => process.stdout.write(l + '\n'));
  if (m.executions === 0) {
    process.stderr.write('pinsim: the shards explored nothing, so there is no verdict to give\n');
    return 2;
  }
  return exitOf(m);
}
