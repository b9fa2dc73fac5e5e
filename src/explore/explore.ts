/**
 * explore(): run a scenario under many schedules (DESIGN §3's candidates within a window W) and
 * answer, herd7-style, for each `forbid` outcome whether it can happen (Sometimes) or not (Never)
 * within the bounds, and for each `allow` outcome whether it is reachable; keep the first
 * counterexample of each. A scenario with no `forbid` forbids every violation kind.
 */
import { PINSIM_BUG } from '../engine/bug.js';
import type { RunResult } from '../scenario/run/result.js';
import { runValidated, type RunOptions } from '../scenario/run/run.js';
import { defaultRegistry, type Registry } from '../scenario/registry.js';
import type { OutcomeSpec, Scenario } from '../scenario/format/types.js';
import { dfsStrategy } from './dfs.js';
import { pctStrategy } from './pct.js';
import { randomStrategy } from './random.js';
import type { Shard, Strategy } from './strategy.js';

export type StrategyName = 'random' | 'pct' | 'dfs';

export interface ExploreOptions {
  policy: string;
  strategy?: StrategyName;
  seed?: number;
  /** executions at most (random, pct: the number run; dfs: a cap) */
  runs?: number;
  /** DESIGN §3's W (default 1 µs) */
  window?: number;
  jitter?: number;
  /** pct depth (default 3) */
  depth?: number;
  preemptionBound?: number;
  por?: boolean;
  stateCache?: boolean;
  shard?: Shard;
  /** Asked between executions: stop now (a wall-clock budget kept by the caller). */
  shouldStop?: () => boolean;
  /** Called after every execution (progress). */
  onExecution?: (n: number, r: RunResult) => void;
  registry?: Registry;
}

export interface OutcomeVerdict {
  outcome: string;
  kind: 'forbid' | 'allow';
  verdict: 'Never' | 'Sometimes';
  /** how many executions showed it */
  count: number;
  /** the first execution that showed it */
  example?: { execution: number; choices: number[]; traceHash: string; result: RunResult };
}

export interface ExploreResult {
  scenario: string;
  policy: string;
  strategy: StrategyName;
  seed: number;
  window: number;
  jitter: number;
  shard: Shard;
  executions: number;
  states: number;
  pruned: number;
  exhaustive: boolean;
  verdicts: OutcomeVerdict[];
}

export function outcomeName(o: OutcomeSpec): string {
  return typeof o === 'string' ? o : Object.entries(o).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Does run @r show outcome @o? */
export function shows(r: RunResult, o: OutcomeSpec): boolean {
  if (typeof o === 'string') return r.violations.some((v) => v.kind === o);
  return Object.entries(o).every(([read, write]) => r.observed[read] === write);
}

/** The outcomes explore judges for @s under @policy. */
export function outcomesOf(s: Scenario, policy: string, kinds: readonly string[]): { forbid: OutcomeSpec[]; allow: OutcomeSpec[] } {
  const pe = s.expectByPolicy?.[policy];
  const e = pe && !('skip' in pe) ? pe : s.expect;
  return { forbid: e?.forbid?.length ? e.forbid : [...kinds], allow: e?.allow ?? [] };
}

export function makeStrategy(o: ExploreOptions): Strategy {
  const shard = o.shard ?? { index: 0, count: 1 };
  const seed = o.seed ?? 1;
  switch (o.strategy ?? 'dfs') {
    case 'random': return randomStrategy(seed, o.runs ?? 1000, shard);
    case 'pct': return pctStrategy(seed, o.runs ?? 1000, o.depth ?? 3, shard);
    case 'dfs': {
      const d: Parameters<typeof dfsStrategy>[0] = { shard };
      if (o.preemptionBound !== undefined) d.preemptionBound = o.preemptionBound;
      if (o.por !== undefined) d.por = o.por;
      if (o.stateCache !== undefined) d.stateCache = o.stateCache;
      return dfsStrategy(d);
    }
  }
}

/** explore() - Return: the verdicts and counts; counterexamples carry their choices. */
export function explore(s: Scenario, o: ExploreOptions, kinds: readonly string[]): ExploreResult {
  const strategy = makeStrategy(o);
  const window = o.window ?? 1000;
  const jitter = o.jitter ?? 0;
  const seed = o.seed ?? 1;
  const { forbid, allow } = outcomesOf(s, o.policy, kinds);
  const verdicts: (OutcomeVerdict & { spec: OutcomeSpec })[] = [
    ...forbid.map((f) => ({ outcome: outcomeName(f), kind: 'forbid' as const, verdict: 'Never' as const, count: 0, spec: f })),
    ...allow.map((a) => ({ outcome: outcomeName(a), kind: 'allow' as const, verdict: 'Never' as const, count: 0, spec: a })),
  ] as (OutcomeVerdict & { spec: OutcomeSpec })[];
  const cap = o.strategy === 'dfs' || !o.strategy ? (o.runs ?? Infinity) : Infinity;
  // The same options for every execution: one registry, one chooser, built once.
  const runOpts: RunOptions = {
    policy: o.policy, seed, window, jitter, stateHash: strategy.name === 'dfs' && (o.stateCache ?? true),
    chooser: (p) => strategy.choose(p),
    ...(strategy.afterStep ? { afterStep: (a: string, fp: ReadonlySet<string>) => strategy.afterStep!(a, fp) } : {}),
    registry: o.registry ?? defaultRegistry(),
  };
  let executions = 0;
  while (executions < cap && !(o.shouldStop?.() ?? false) && strategy.newExecution()) {
    const r = runValidated(s, runOpts);
    strategy.endExecution(r);
    if (r.outcome === 'error') PINSIM_BUG(r.error ?? 'explore: a run failed');
    // A shard other than 0 does not own a run without choice points (the unsharded run has one).
    const shard = o.shard ?? { index: 0, count: 1 };
    if (r.stats.choicePoints === 0 && (shard.index !== 0 || r.pruned)) continue;
    if (r.pruned) continue;
    executions++;
    o.onExecution?.(executions, r);
    for (const v of verdicts) {
      if (!shows(r, v.spec)) continue;
      v.count++;
      if (v.verdict === 'Never') {
        v.verdict = 'Sometimes';
        v.example = { execution: executions, choices: [...r.choices], traceHash: r.traceHash, result: r };
      }
    }
  }
  return {
    scenario: s.name, policy: o.policy, strategy: o.strategy ?? 'dfs', seed, window, jitter, shard: o.shard ?? { index: 0, count: 1 },
    executions, states: strategy.stats.states, pruned: strategy.stats.pruned, exhaustive: strategy.exhaustive,
    verdicts: verdicts.map(({ spec: _spec, ...v }) => v),
  };
}

/** merge() - join shard results of one scenario and policy into one verdict. */
export function mergeResults(parts: readonly ExploreResult[]): ExploreResult {
  const first = parts[0];
  if (!first) throw new Error('merge: nothing to merge');
  const verdicts = first.verdicts.map((v) => {
    const all = parts.map((p) => p.verdicts.find((x) => x.outcome === v.outcome && x.kind === v.kind)!);
    const hit = all.find((x) => x.verdict === 'Sometimes');
    const out: OutcomeVerdict = { outcome: v.outcome, kind: v.kind, verdict: hit ? 'Sometimes' : 'Never', count: all.reduce((n, x) => n + x.count, 0) };
    if (hit?.example) out.example = hit.example;
    return out;
  });
  return {
    ...first, shard: { index: 0, count: 1 },
    executions: parts.reduce((n, p) => n + p.executions, 0),
    states: parts.reduce((n, p) => n + p.states, 0),
    pruned: parts.reduce((n, p) => n + p.pruned, 0),
    exhaustive: parts.every((p) => p.exhaustive),
    verdicts,
  };
}
