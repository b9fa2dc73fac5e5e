/**
 * `pinsim compare <scenario|dir>... [--policy all|p1,p2] [--json]`: the scenario × policy matrix of
 * who is punished under each design (DESIGN §8), then one verdict line per policy. Exit 0 when
 * every run met its scenario's expectation for that policy, 1 otherwise, 2 for bad input.
 */
import { cellOf, formatMatrix, verdicts, type MatrixRow } from '../report/compare.js';
import { collectScenarioFiles, loadScenarioInput } from '../scenario/format/load.js';
import { defaultRegistry } from '../scenario/registry.js';
import { runValidated } from '../scenario/run/run.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import { UsageError, flagParams, flagSeed, flagString, parseArgs } from './args.js';
import type { CommandSpec } from './args.js';
import { verdictOf } from './check.js';
import { LOAD_FLAGS, Progress, flagLoadTimeout, resolvePolicies } from './common.js';

export const COMPARE_SPEC: CommandSpec = {
  name: 'compare',
  operands: '<scenario|dir>...',
  minOperands: 1,
  maxOperands: Infinity,
  summary: 'the policy × scenario matrix: what happens under each design, and who is punished',
  flags: {
    policy: { value: true, meta: 'all|p1,p2', doc: 'the policies to compare (default all built ones)' },
    seed: { value: true, meta: 'N', doc: 'the PRNG seed (default 1)' },
    json: { value: false, doc: 'print the matrix and verdicts as one JSON document' },
    ...LOAD_FLAGS,
    param: { value: true, meta: 'K=V', repeat: true, doc: 'a parameter for scenario modules that export a function' },
  },
};

export async function cmdCompare(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, COMPARE_SPEC);
  const registry = defaultRegistry();
  const policies = resolvePolicies(flagString(p, 'policy') ?? 'all', registry, true);
  const seed = flagSeed(p, 'compare');
  const params = flagParams(p, 'compare');
  const files = collectScenarioFiles(p.operands);
  if (files.length === 0) throw new UsageError(`no scenario files under ${p.operands.join(' ')}`, 'compare');
  const progress = new Progress();
  const rows: MatrixRow[] = [];
  let unmet = 0;
  for (const [i, file] of files.entries()) {
    const row: MatrixRow = { scenario: '', cells: {} };
    for (const policy of policies) {
      progress.show(`[${i + 1}/${files.length}] ${file} under ${policy}`);
      const input = await loadScenarioInput(file, { policy, ...(seed !== undefined ? { seed } : {}), params, ...flagLoadTimeout(p, 'compare') });
      const s = validateOrThrow(input, registry, file);
      const r = runValidated(s, { registry, policy, ...(seed !== undefined ? { seed } : {}) });
      const { verdict } = verdictOf(s, r);
      row.scenario = s.name;
      row.cells[policy] = cellOf(s, r, verdict !== 'FAIL' && verdict !== 'ERROR');
      if (verdict === 'FAIL' || verdict === 'ERROR') unmet++;
    }
    rows.push(row);
  }
  progress.clear();
  const v = verdicts(policies, rows);
  if (p.flags['json'] === true) {
    process.stdout.write(JSON.stringify({ policies, rows, verdicts: v }, null, 2) + '\n');
  } else {
    const w = Math.max(...policies.map((x) => x.length));
    process.stdout.write(`${formatMatrix(policies, rows)}\n\n`);
    if (unmet) process.stdout.write(`(! marks a run that did not meet its scenario's expectation: ${unmet})\n\n`);
    process.stdout.write('who is punished:\n');
    for (const pol of policies) process.stdout.write(`  ${pol.padEnd(w)}  ${v[pol]?.sentence}\n`);
  }
  return unmet ? 1 : 0;
}
