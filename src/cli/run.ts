/**
 * `pinsim run <scenario>`: one run under one policy, told as a text report (or one JSON document),
 * optionally with its trace. Exit 0 when the run shows no violation and its expectations (if any)
 * are met, 1 otherwise, 3 when pinsim itself failed (DESIGN §8).
 */
import { statSync, writeFileSync } from 'node:fs';
import { formatChromeTrace, toChromeTrace } from '../report/chrome.js';
import { checkDeterminism, formatDeterminism, type DeterminismVerdict } from '../report/determinism.js';
import { toJson, prettyJson } from '../report/json.js';
import { formatRunText, formatTraceLine } from '../report/text.js';
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

export const RUN_SPEC: CommandSpec = {
  name: 'run',
  operands: '<scenario>',
  minOperands: 1,
  maxOperands: 1,
  summary: 'run one scenario under one policy and tell what happened, violations first',
  flags: {
    policy: { value: true, meta: 'P', doc: "the kernel policy (default: the scenario's kernel.policy, else linux-6.12)" },
    seed: { value: true, meta: 'N', doc: 'the PRNG seed (default 1)' },
    trace: {
      value: true, meta: 'text|json|chrome', choices: ['text', 'json', 'chrome'],
      doc: 'also write the trace: ftrace-style lines, a JSON array, or a Chrome/Perfetto trace (ui.perfetto.dev, chrome://tracing)',
    },
    out: { value: true, meta: 'FILE', doc: 'where --trace writes (default stdout, after the report)' },
    json: { value: false, doc: 'print the result (DESIGN §6) as one JSON document' },
    ...LOAD_FLAGS,
    param: { value: true, meta: 'K=V', repeat: true, doc: 'a parameter for a scenario module that exports a function' },
    'raw-chains': { value: false, doc: "also print each violation's causal chain as raw trace steps, under its story" },
    'check-determinism': { value: false, doc: 'run twice and compare the trace hashes event by event; exit 1 at the first divergence' },
  },
};

/** cmdRun() - Return: the exit status. Throws UsageError / ScenarioError (exit 2). */
export async function cmdRun(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, RUN_SPEC);
  const json = p.flags['json'] === true;
  const trace = flagString(p, 'trace');
  const outFile = flagString(p, 'out');
  if (json && trace && outFile === undefined) {
    throw new UsageError('with --json, --trace needs --out FILE (stdout holds the JSON result)', 'run');
  }
  if (outFile !== undefined && !trace) throw new UsageError('--out names the file --trace writes; add --trace text|json|chrome', 'run');
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
  const lines: string[] = [];
  const events: MmTraceEvent[] = [];
  const listener = trace === 'text' ? (ev: MmTraceEvent) => void lines.push(formatTraceLine(ev))
    : trace === 'json' || trace === 'chrome' ? (ev: MmTraceEvent) => void events.push({ ...ev }) : undefined;
  const runOnce = (extra: { stepHashes?: string[]; trace?: (ev: MmTraceEvent) => void }): RunResult => {
    try {
      return runValidated(s, {
        registry, ...(policy !== undefined ? { policy } : {}), ...(seed !== undefined ? { seed } : {}), ...extra,
      });
    } catch (e) {
      throw e instanceof ScenarioError ? withFile(e, file) : e;
    }
  };
  let r: RunResult;
  let verdict: DeterminismVerdict | null = null;
  if (checkDet) {
    // The first run also feeds --trace; the second only the comparison.
    let runs = 0;
    verdict = checkDeterminism((stepHashes, check) => {
      const mine = runs++ === 0 ? listener : undefined;
      return runOnce({ stepHashes, trace: mine ? (ev) => { check(ev); mine(ev); } : check });
    });
    r = verdict.result;
  } else {
    r = runOnce(listener ? { trace: listener } : {});
  }

  const traceText = trace === 'text' ? lines.map((l) => l + '\n').join('')
    : trace === 'json' ? prettyJson(events) + '\n'
    : trace === 'chrome' ? formatChromeTrace(toChromeTrace(events, r)) : '';
  // A JSON trace on stdout is the one JSON document there, so the report moves to stderr.
  const reportToStderr = (trace === 'json' || trace === 'chrome') && outFile === undefined;
  let report: string;
  if (verdict) {
    report = json ? prettyJson(determinismJson(verdict)) + '\n' : formatDeterminism(verdict);
  } else {
    report = json ? toJson(r) + '\n' : formatRunText(r, { rawChains: p.flags['raw-chains'] === true });
  }
  (reportToStderr ? process.stderr : process.stdout).write(report);
  if (trace) {
    if (outFile !== undefined) writeTrace(outFile, traceText);
    else process.stdout.write(traceText);
  }
  if (verdict && !verdict.deterministic) return 1;
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

function writeTrace(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    throw new UsageError(`cannot write --out ${file}: ${e instanceof Error ? e.message : String(e)}`, 'run');
  }
}
