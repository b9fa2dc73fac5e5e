/**
 * The determinism self-check: run the same scenario twice under the same policy, seed
 * and choices, recording the running trace hash after every event, and compare the two runs step by
 * step. The first index whose hash differs names the first divergent event, printed from both runs
 * as ftrace-style lines. When the traces agree, the results must agree too (outcome, results,
 * observed values, violations, choices). The runs come from a callback, so this module needs no
 * Node and tests can feed it a run that is deliberately not deterministic.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import type { RunResult } from '../scenario/run/result.js';
import { formatTraceLine, kinds } from './text.js';

/**
 * One run of the scenario: it must pass @stepHashes and @trace on to runScenario()'s `stepHashes`
 * and `trace` options (the engine pushes the running hash, then calls the listeners).
 */
export type RunWithSteps = (stepHashes: string[], trace: (ev: MmTraceEvent) => void) => RunResult;

export interface Divergence {
  /** 0-based index of the first event whose running hash differs; -1 when the traces agree but the results do not. */
  index: number;
  /** That event in the first and in the second run; null where that run had already ended. */
  first: MmTraceEvent | null;
  second: MmTraceEvent | null;
  /** Number of events of each run. */
  firstEvents: number;
  secondEvents: number;
  /** For index -1: which part of the result differs. */
  detail?: string;
}

export type DeterminismVerdict =
  | { deterministic: true; events: number; traceHash: string; result: RunResult }
  | { deterministic: false; divergence: Divergence; result: RunResult; second: RunResult };

/** What must not vary between two runs besides the trace itself. */
function resultFingerprint(r: RunResult): Record<string, unknown> {
  return {
    outcome: r.outcome, traceHash: r.traceHash, results: r.results, observed: r.observed, choices: r.choices,
    violations: r.violations.map((v) => ({ kind: v.kind, time: v.time, actor: v.actor, pfn: v.pfn, message: v.message })),
    stats: r.stats, ops: r.ops,
  };
}

/**
 * checkDeterminism() - run @run twice and compare the runs event by event.
 * Return: the verdict; on divergence, the first differing event of each run (or the result part
 * that differs when the traces agree).
 */
export function checkDeterminism(run: RunWithSteps): DeterminismVerdict {
  const hashesA: string[] = [];
  const eventsA: MmTraceEvent[] = [];
  const a = run(hashesA, (ev) => void eventsA.push({ ...ev }));

  const hashesB: string[] = [];
  let firstDiff = -1;
  let eventB: MmTraceEvent | null = null;
  const b = run(hashesB, (ev) => {
    if (firstDiff >= 0) return;
    // The bus records the hash before it calls the listeners: this event's index is the last one.
    const i = hashesB.length - 1;
    if (hashesB[i] !== hashesA[i]) {
      firstDiff = i;
      eventB = { ...ev };
    }
  });

  // A run without listeners' help (or one that ended early) is compared on the hash lists alone.
  if (firstDiff < 0) {
    const n = Math.min(hashesA.length, hashesB.length);
    for (let i = 0; i < n; i++) {
      if (hashesA[i] !== hashesB[i]) {
        firstDiff = i;
        break;
      }
    }
    if (firstDiff < 0 && hashesA.length !== hashesB.length) firstDiff = n;
  }
  if (firstDiff >= 0) {
    return {
      deterministic: false, result: a, second: b,
      divergence: {
        index: firstDiff, first: eventsA[firstDiff] ?? null, second: eventB, firstEvents: hashesA.length, secondEvents: hashesB.length,
      },
    };
  }
  const fa = resultFingerprint(a), fb = resultFingerprint(b);
  for (const k of Object.keys(fa)) {
    if (JSON.stringify(fa[k]) !== JSON.stringify(fb[k])) {
      return {
        deterministic: false, result: a, second: b,
        divergence: {
          index: -1, first: null, second: null, firstEvents: hashesA.length, secondEvents: hashesB.length,
          detail: `${k}: ${JSON.stringify(fa[k])} vs ${JSON.stringify(fb[k])}`,
        },
      };
    }
  }
  return { deterministic: true, events: hashesA.length, traceHash: a.traceHash, result: a };
}

/**
 * formatDeterminism() - the verdict for people (it alone decides the exit status): `deterministic:
 * N events, traceHash X` with the run's outcome for information, or where the runs part and both
 * events as ftrace-style lines.
 */
export function formatDeterminism(v: DeterminismVerdict): string {
  if (v.deterministic) {
    const r = v.result;
    if (r.outcome === 'skip') return `deterministic: ${v.events} events, traceHash none (skip: ${r.skipped ?? 'the scenario does not apply'})\n`;
    const found = r.violations.length ? ` (${kinds(r).join(', ')})` : '';
    return `deterministic: ${v.events} events, traceHash ${v.traceHash}\noutcome   ${r.outcome}${found}\n`;
  }
  const d = v.divergence;
  if (d.index < 0) {
    return `not deterministic: both runs have the same ${d.firstEvents} events, but their results differ in ${d.detail ?? '?'}\n`;
  }
  const line = (ev: MmTraceEvent | null, n: number) => (ev ? formatTraceLine(ev) : `(none: the run ended after ${n} events)`);
  return [
    `not deterministic: the runs diverge at event ${d.index} (counting from 0; the runs have ${d.firstEvents} and ${d.secondEvents} events)`,
    `  first run:  ${line(d.first, d.firstEvents)}`,
    `  second run: ${line(d.second, d.secondEvents)}`,
  ].join('\n') + '\n';
}
