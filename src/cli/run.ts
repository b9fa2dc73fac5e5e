/**
 * `pinsim run <scenario>`: one run under one policy, told as a text report (or one JSON document),
 * optionally with its trace. Exit 0 when the run shows no violation and its expectations are met,
 * 1 otherwise, 3 when pinsim itself failed. With `--check-determinism` the question is whether two
 * runs agree: exit 0 when they do, 1 at the first divergence.
 */
import { statSync } from 'node:fs';
import { checkDeterminism, formatDeterminism, type DeterminismVerdict } from '../report/determinism.js';
import { prettyJson } from '../report/json.js';
import { formatTraceLine } from '../report/text.js';
import type { MmTraceEvent } from '../mm/trace_events.js';
import { loadScenarioInput } from '../scenario/format/load.js';
import { defaultRegistry } from '../scenario/registry.js';
import type { RunResult } from '../scenario/run/result.js';
import { runValidated } from '../scenario/run/run.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import { ScenarioError } from '../scenario/format/types.js';
import { UsageError, flagParams, flagSeed, flagString, parseArgs } from './args.js';
import type { CommandSpec } from './args.js';
import { LOAD_FLAGS, flagLoadTimeout, resolvePolicies, withFile } from './common.js';
import { OUTPUT_FLAGS, runOutput, writeRun, writeTrace } from './output.js';

export const RUN_SPEC: CommandSpec = {
  name: 'run',
  operands: '<scenario>',
  minOperands: 1,
  maxOperands: 1,
  summary: 'run one scenario under one policy and tell what happened, violations first',
  flags: {
    policy: { value: true, meta: 'P', doc: "the kernel policy (default: the scenario's kernel.policy, else linux-6.12)" },
    seed: { value: true, meta: 'N', doc: 'the PRNG seed (default 1)' },
    ...OUTPUT_FLAGS,
    ...LOAD_FLAGS,
    param: { value: true, meta: 'K=V', repeat: true, doc: 'a parameter for a scenario module that exports a function' },
    'check-determinism': {
      value: false,
      doc: 'run twice and compare the trace hashes event by event: exit 0 when the runs agree, 1 at the first divergence',
    },
  },
};

/** cmdRun() - Return: the exit status. Throws UsageError / ScenarioError (exit 2). */
export async function cmdRun(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, RUN_SPEC);
  const o = runOutput(p, 'run');
  const checkDet = p.flags['check-determinism'] === true;

  const registry = defaultRegistry();
  const policyFlag = flagString(p, 'policy');
  if (policyFlag === 'all' || policyFlag?.includes(',')) {
    throw new UsageError('pinsim run takes one policy; use pinsim check --policy all to run several', 'run');
  }
  const policy = policyFlag === undefined ? undefined : resolvePolicies(policyFlag, registry, false)[0];
  const seed = flagSeed(p, 'run');
  const file = p.operands[0] as string;
  if (isDirectory(file)) {
    throw new UsageError(`${file} is a directory; pinsim run takes one scenario file (pinsim check takes directories)`, 'run');
  }

  const input = await loadScenarioInput(file, {
    ...(policy !== undefined ? { policy } : {}), ...(seed !== undefined ? { seed } : {}), params: flagParams(p, 'run'), ...flagLoadTimeout(p, 'run'),
  });
  const s = validateOrThrow(input, registry, file);
  const runOnce = (extra: { stepHashes?: string[]; trace?: (ev: MmTraceEvent) => void }): RunResult => {
    try {
      return runValidated(s, {
        registry, ...(policy !== undefined ? { policy } : {}), ...(seed !== undefined ? { seed } : {}), ...extra,
      });
    } catch (e) {
      throw e instanceof ScenarioError ? withFile(e, file) : e;
    }
  };

  if (checkDet) {
    // The first run also feeds --trace; the second only the comparison.
    let runs = 0;
    const verdict = checkDeterminism((stepHashes, check) => {
      const mine = runs++ === 0 ? o.listener : undefined;
      return runOnce({ stepHashes, trace: mine ? (ev) => { check(ev); mine(ev); } : check });
    });
    o.report.write(o.json ? prettyJson(determinismJson(verdict)) + '\n' : formatDeterminism(verdict));
    writeTrace(verdict.result, o, 'run');
    return verdict.deterministic ? 0 : 1;
  }

  const r = runOnce(o.listener ? { trace: o.listener } : {});
  writeRun(r, s, o, 'run');
  // Notes (late starts, fallbacks, what kernel.until cut) also go to stderr, unless the report did.
  if (o.report !== process.stderr) for (const n of r.notes ?? []) process.stderr.write(`pinsim: note: ${n}\n`);
  if (r.outcome === 'error') {
    process.stderr.write(`${r.error ?? '[pinsim internal bug] the run failed without a message'}\n`);
    return 3;
  }
  if (r.outcome === 'skip') process.stderr.write(`pinsim: ${r.scenario} does not apply to ${r.policy}: ${r.skipped ?? ''}\n`);
  return r.outcome === 'pass' || r.outcome === 'skip' ? 0 : 1;
}

/** Whether @file is a directory (false for what cannot be stat'ed, a symlink loop included: the loader says why). */
function isDirectory(file: string): boolean {
  try {
    return statSync(file, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/** The --json form of a determinism verdict: the verdict, the first divergence, the first run's outcome. */
function determinismJson(v: DeterminismVerdict): Record<string, unknown> {
  const r = v.result;
  const base = { scenario: r.scenario, policy: r.policy, seed: r.seed, outcome: r.outcome };
  if (v.deterministic) return { deterministic: true, events: v.events, traceHash: v.traceHash, ...base };
  const d = v.divergence;
  return {
    deterministic: false, ...base,
    divergence: {
      index: d.index, firstEvents: d.firstEvents, secondEvents: d.secondEvents,
      first: d.first ? formatTraceLine(d.first) : null, second: d.second ? formatTraceLine(d.second) : null,
      ...(d.detail !== undefined ? { detail: d.detail } : {}),
    },
  };
}
