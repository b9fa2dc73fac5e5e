/**
 * `pinsim check <scenario|dir>...`: run scenarios against their expectations, like a test runner.
 * One line per (scenario, policy), PASS / FAIL / SKIP, the failures indented under FAIL, then
 * `N passed, N failed, N skipped`; or, with `--format ktap`, KTAP v1 for kernel CI (ktap.ts). Every
 * file is checked whatever happens to another (bad input, a module that hangs, a pinsim bug), and
 * the exit status covers them all: 0 when every run passed (a SKIP is neither pass nor fail), 1 when
 * one failed, 2 when an input was bad, 3 when pinsim itself failed (worst wins).
 */
import { toJson } from '../report/json.js';
import { kinds } from '../report/text.js';
import { loadScenarioInput } from '../scenario/format/load.js';
import { defaultRegistry } from '../scenario/registry.js';
import type { RunResult } from '../scenario/run/result.js';
import { runValidated } from '../scenario/run/run.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import { ScenarioError, formatIssues } from '../scenario/format/types.js';
import type { Scenario } from '../scenario/format/types.js';
import { UsageError, flagParams, flagSeed, flagString, parseArgs } from './args.js';
import type { CommandSpec } from './args.js';
import { LOAD_FLAGS, Progress, flagLoadTimeout, resolvePolicies, scenarioFiles, withFile } from './common.js';
import { KtapWriter } from './ktap.js';

export const CHECK_SPEC: CommandSpec = {
  name: 'check',
  operands: '<scenario|dir>...',
  minOperands: 1,
  maxOperands: Infinity,
  summary: 'run scenarios and their expectations, like a test runner (directories are searched for *.json and *.scenario.{ts,js,mjs})',
  flags: {
    policy: { value: true, meta: 'NAME|all', doc: "a policy, a comma list, or all built ones (default: each scenario's kernel.policy)" },
    seed: { value: true, meta: 'N', doc: 'the PRNG seed (default 1)' },
    json: { value: false, doc: 'print the results as one JSON list' },
    format: { value: true, meta: 'ktap', choices: ['ktap'], doc: 'KTAP version 1 on stdout, for kernel CI (SKIP neither passes nor fails)' },
    ...LOAD_FLAGS,
    param: { value: true, meta: 'K=V', repeat: true, doc: 'a parameter for scenario modules that export a function' },
  },
};

export type Verdict = 'PASS' | 'FAIL' | 'SKIP' | 'ERROR';

/**
 * verdictOf() - whether a run passes its scenario: its expectations met (outcome `pass`, or
 * `violations` that were expected). runScenario applies the one expectation rule (no `expect` and
 * no `expectByPolicy` entry for the policy: no violation expected), so `check` only reads the outcome.
 */
export function verdictOf(r: RunResult): { verdict: Verdict; failures: string[] } {
  if (r.outcome === 'skip') return { verdict: 'SKIP', failures: [] };
  if (r.outcome === 'error') return { verdict: 'ERROR', failures: [r.error ?? '[pinsim internal bug]'] };
  const ok = (r.outcome === 'pass' || r.outcome === 'violations') && r.expectations.met;
  return { verdict: ok ? 'PASS' : 'FAIL', failures: ok ? [] : r.expectations.failures };
}

/** cmdCheck() - Return: the exit status. Throws UsageError / ScenarioError for bad usage (exit 2). */
export async function cmdCheck(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, CHECK_SPEC);
  const json = p.flags['json'] === true;
  if (json && flagString(p, 'format') === 'ktap') throw new UsageError('--json and --format ktap both print on stdout: choose one', 'check');
  const ktap = flagString(p, 'format') === 'ktap' ? new KtapWriter((l) => process.stdout.write(l + '\n')) : null;
  const registry = defaultRegistry();
  const policyFlag = flagString(p, 'policy');
  const policies: (string | undefined)[] = policyFlag === undefined ? [undefined] : resolvePolicies(policyFlag, registry, true);
  const seed = flagSeed(p, 'check');
  const params = flagParams(p, 'check');
  const timeout = flagLoadTimeout(p, 'check');
  // An operand that does not exist is checked like any file (it is INVALID), not the end of the run.
  const files: string[] = [];
  for (const op of p.operands) {
    let found: string[];
    try {
      found = scenarioFiles([op]);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      found = [op];
    }
    for (const f of found) if (!files.includes(f)) files.push(f);
  }
  if (files.length === 0) throw new UsageError(`no scenario files (*.json, *.scenario.{ts,js,mjs}) under ${p.operands.join(' ')}`, 'check');

  const progress = new Progress();
  const say = (line: string): void => {
    progress.clear();
    if (!json && !ktap) process.stdout.write(line + '\n');
  };
  ktap?.begin(files.length * policies.length);
  const results: RunResult[] = [];
  const n = { passed: 0, failed: 0, skipped: 0, invalid: 0, errors: 0 };
  for (const [fi, file] of files.entries()) {
    for (const policy of policies) {
      progress.show(`[${fi + 1}/${files.length}] ${file}${policy ? ` under ${policy}` : ''}`);
      let s: Scenario;
      let r: RunResult;
      try {
        const input = await loadScenarioInput(file, {
          ...(policy !== undefined ? { policy } : {}), ...(seed !== undefined ? { seed } : {}), params, ...timeout,
        });
        s = validateOrThrow(input, registry, file);
        r = runValidated(s, { registry, ...(policy !== undefined ? { policy } : {}), ...(seed !== undefined ? { seed } : {}) });
      } catch (e) {
        if (!(e instanceof ScenarioError)) {
          // pinsim's own bug on this file: told with its stack, and the other files still run.
          progress.clear();
          const msg = e instanceof Error ? e.message : String(e);
          process.stderr.write(`${msg.startsWith('[pinsim internal bug]') ? msg : `[pinsim internal bug] ${msg}`}\n${e instanceof Error && e.stack ? e.stack + '\n' : ''}`);
          say(`ERROR ${file}${policy ? ` under ${policy}` : ''} (pinsim internal bug, see stderr)`);
          ktap?.result('error', `${file}${policy ? ` [${policy}]` : ''}`, [msg], 'pinsim internal bug');
          n.errors++;
          continue;
        }
        // Bad input: told once per file on stderr, and the file's other policies are not tried.
        const err = withFile(e, file);
        progress.clear();
        process.stderr.write(`${formatIssues(err.issues, err.file)}\n`);
        say(`INVALID ${file}${policy ? ` under ${policy}` : ''} (see stderr)`);
        n.invalid++;
        // KTAP keeps its plan: every policy of the bad file is a test that errored.
        for (const q of ktap ? policies.slice(policies.indexOf(policy)) : []) {
          ktap?.result('error', `${file}${q ? ` [${q}]` : ''}`, [formatIssues(err.issues, err.file)], 'invalid input');
        }
        break;
      }
      results.push(r);
      const { verdict, failures } = verdictOf(r);
      const seen = kinds(r);
      const what = verdict === 'SKIP' ? r.skipped ?? '' : seen.length ? seen.join(', ') : 'no violations';
      say(`${verdict} ${r.scenario} under ${r.policy}: ${what} (${file})`);
      for (const f of failures) say(`    ${f}`);
      const status = verdict === 'PASS' ? 'pass' : verdict === 'FAIL' ? 'fail' : verdict === 'SKIP' ? 'skip' : 'error';
      ktap?.result(status, `${r.scenario} [${r.policy}]`, failures,
        verdict === 'SKIP' ? r.skipped ?? '' : verdict === 'ERROR' ? (failures[0] ?? '').split('\n')[0] ?? '' : '');
      if (verdict === 'PASS') n.passed++;
      else if (verdict === 'FAIL') n.failed++;
      else if (verdict === 'SKIP') n.skipped++;
      else n.errors++;
    }
  }
  progress.clear();
  const extra = `${n.invalid ? `, ${n.invalid} invalid` : ''}${n.errors ? `, ${n.errors} internal errors` : ''}`;
  const summary = `${n.passed} passed, ${n.failed} failed, ${n.skipped} skipped${extra}`;
  if (json) process.stdout.write(toJson(results) + '\n');
  else if (ktap) ktap.end();
  else process.stdout.write(summary + '\n');
  return n.errors ? 3 : n.invalid ? 2 : n.failed ? 1 : 0;
}
