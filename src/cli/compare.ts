/**
 * `pinsim compare <scenario|dir>... [--policy all|p1,p2] [--json]`: the scenario × policy matrix of
 * who is punished under each design, then one verdict line per policy. Exit 0 when
 * every run met its scenario's expectation for that policy, 1 otherwise, 2 for bad input.
 */
import { resolveDeviceParams } from '../devices/device.js';
import { cellOf, formatMatrix, legendLines, sigbusDmas, verdicts, type MatrixRow } from '../report/compare.js';
import { loadScenarioInput } from '../scenario/format/load.js';
import { defaultRegistry, type Registry } from '../scenario/registry.js';
import type { Scenario } from '../scenario/format/types.js';
import { runValidated } from '../scenario/run/run.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import { COLUMNS, UsageError, flagParams, flagSeed, flagString, parseArgs, wrapText } from './args.js';
import type { CommandSpec } from './args.js';
import { verdictOf } from './check.js';
import { LOAD_FLAGS, Progress, flagLoadTimeout, resolvePolicies, scenarioFiles } from './common.js';

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
  const files = scenarioFiles(p.operands);
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
      const eof = sigbusDmas();
      const r = runValidated(s, { registry, policy, trace: eof.listener, ...(seed !== undefined ? { seed } : {}) });
      const { verdict } = verdictOf(r);
      row.scenario = s.name;
      const why = hypotheticalHardware(s, registry);
      if (why !== null) row.leftOut = why;
      row.cells[policy] = cellOf(s, r, verdict !== 'FAIL' && verdict !== 'ERROR', eof.wrs);
      if (verdict === 'FAIL' || verdict === 'ERROR') unmet++;
    }
    rows.push(row);
  }
  progress.clear();
  const v = verdicts(policies, rows);
  if (p.flags['json'] === true) {
    process.stdout.write(JSON.stringify({ policies, rows, verdicts: v, legend: Object.fromEntries(legendLines(policies, rows)) }, null, 2) + '\n');
  } else {
    const out = (l: string) => process.stdout.write(l + '\n');
    out(formatMatrix(policies, rows, COLUMNS));
    out('');
    const legend = legendLines(policies, rows);
    const kw = Math.max(...legend.map(([k]) => [...k].length));
    for (const [k, text] of legend) for (const l of wrapText(text, COLUMNS, `  ${k.padEnd(kw)}  `)) out(l);
    out('');
    if (unmet) out(`(! marks a run that did not meet its scenario's expectation: ${unmet})\n`);
    const counted = rows.filter((r) => r.leftOut === undefined).length;
    for (const l of wrapText(`who is punished, in how many of the ${counted} scenarios that model merged kernel code or the proposals:`, COLUMNS, '')) out(l);
    const w = Math.max(...policies.map((x) => x.length));
    for (const pol of policies) for (const l of wrapText(v[pol]?.short ?? '', COLUMNS, `  ${pol.padEnd(w)}  `)) out(l);
    for (const r of rows.filter((x) => x.leftOut !== undefined)) {
      for (const l of wrapText(`${r.scenario} is left out: ${r.leftOut}.`, COLUMNS, '  ')) out(l);
    }
  }
  return unmet ? 1 : 0;
}

/**
 * hypotheticalHardware() - why @s models hardware that no merged driver code gives (a device model's
 * `hypothetical` hook on its parameters), or null.
 */
function hypotheticalHardware(s: Scenario, registry: Registry): string | null {
  for (const [name, d] of Object.entries(s.devices)) {
    const model = registry.devices.get(d.model);
    if (!model?.hypothetical) continue;
    const why = model.hypothetical(resolveDeviceParams(model, d.params, name));
    if (why !== null) return `${name} ${why}`;
  }
  return null;
}
