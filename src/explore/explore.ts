/**
 * explore(): run a scenario under many schedules (the candidates within a window W) and answer,
 * herd7-style, for each `forbid` and `allow` outcome how often it happened, with a verdict that
 * claims no more than the search showed: `Never` and `Always` only after an exhaustive search
 * (every schedule within the window, up to the reductions), `NotObserved` when a bounded search did
 * not see it, `Sometimes` when some execution did. Each verdict carries `exhaustive` and the
 * `bound` that stopped the search (`runs`, `time`, `preemption-bound`, `interrupted`; null when
 * none did). The first counterexample of each outcome is kept. A scenario with no `forbid`
 * forbids every violation kind.
 */
import type { RunResult } from '../scenario/run/result.js';
import { expectationFor } from '../scenario/run/expect.js';
import { DEFAULT_POLICY, INVARIANT_KINDS, defaultRegistry, resolvePolicy } from '../scenario/registry.js';
import { PINSIM_BUG } from '../engine/bug.js';
import { ScenarioRunner } from '../scenario/run/run.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import type { Registry } from '../scenario/registry.js';
import type { OutcomeSpec, Scenario } from '../scenario/format/types.js';
import { dfsStrategy } from './dfs.js';
import { pctStrategy } from './pct.js';
import { randomStrategy } from './random.js';
import type { Shard, Strategy } from './strategy.js';

export type StrategyName = 'random' | 'pct' | 'dfs';

/** What stopped a search before it covered every schedule. */
export type ExploreBound = 'runs' | 'time' | 'preemption-bound' | 'interrupted';

export type Verdict = 'Never' | 'NotObserved' | 'Sometimes' | 'Always';

export interface ExploreOptions {
  /** Default: the scenario's `kernel.policy`, else linux-6.12. */
  policy?: string;
  strategy?: StrategyName;
  seed?: number;
  /** executions at most (random, pct: the number run, default 1000; dfs: a cap) */
  runs?: number;
  /** the race window W in ns (default 1 µs) */
  window?: number;
  jitter?: number;
  /** pct depth (default 3) */
  depth?: number;
  preemptionBound?: number;
  por?: boolean;
  stateCache?: boolean;
  shard?: Shard;
  /** Record the distinct final states (results and observed values) in `finalStates`. */
  states?: boolean;
  /** Asked between executions: stop now, and why (a wall-clock budget or an interrupt kept by the caller). */
  shouldStop?: () => 'time' | 'interrupted' | false;
  /** Called after every execution (progress). */
  onExecution?: (n: number, r: RunResult) => void;
  registry?: Registry;
}

export interface OutcomeVerdict {
  outcome: string;
  kind: 'forbid' | 'allow';
  verdict: Verdict;
  /** how many executions showed it */
  count: number;
  /** the search covered every schedule within the window (up to the reductions) */
  exhaustive: boolean;
  /** what stopped the search short of that; null when it was exhaustive */
  bound: ExploreBound | null;
  /** the first execution that showed it */
  example?: { execution: number; choices: number[]; traceHash: string; result: RunResult };
}

/** One distinct final state (herd7's States): the op results and observed values, and how many executions ended in it. */
export interface FinalState {
  outcome: string;
  count: number;
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
  bound: ExploreBound | null;
  verdicts: OutcomeVerdict[];
  /** with the `states` option */
  finalStates?: FinalState[];
}

export function outcomeName(o: OutcomeSpec): string {
  return typeof o === 'string' ? o : Object.entries(o).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Does run @r show outcome @o? */
export function shows(r: RunResult, o: OutcomeSpec): boolean {
  if (typeof o === 'string') return r.violations.some((v) => v.kind === o);
  return Object.entries(o).every(([read, write]) => r.observed[read] === write);
}

/** The outcomes explore judges for @s under @policy: the scenario's forbid (else every kind of @kinds) and allow. */
export function outcomesOf(s: Scenario, policy: string, kinds: readonly string[]): { forbid: OutcomeSpec[]; allow: OutcomeSpec[] } {
  const pe = expectationFor(s, policy);
  const e = 'skip' in pe ? s.expect : pe;
  return { forbid: e?.forbid?.length ? e.forbid : [...kinds], allow: e?.allow ?? [] };
}

/**
 * verdictOf() - what @count sightings in @executions let a search claim: Never / Always only when
 * it was @exhaustive.
 */
export function verdictOf(count: number, executions: number, exhaustive: boolean): Verdict {
  if (count === 0) return exhaustive ? 'Never' : 'NotObserved';
  return exhaustive && count === executions ? 'Always' : 'Sometimes';
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

/** The final state of @r as one line: the results of @keys (`actor.index`), then the observed values. */
function finalStateOf(r: RunResult, keys: readonly string[]): string {
  const results = keys.map((k) => `${k}=${r.results[k] ?? '?'}`).join(' ');
  const observed = Object.keys(r.observed).sort().map((k) => `${k}=${r.observed[k]}`).join(' ');
  return observed ? `${results} | ${observed}` : results;
}

/**
 * exploreSteps() - explore() one execution at a time: the generator yields the number of
 * executions counted so far after each one, so that a caller can hand control back to its event
 * loop (to hear an interrupt) between executions; its return value is the result.
 */
export function* exploreSteps(s: Scenario, o: ExploreOptions = {}, kinds?: readonly string[]): Generator<number, ExploreResult, void> {
  const registry = o.registry ?? defaultRegistry();
  const policy = o.policy ?? s.replay?.policy ?? s.kernel.policy ?? DEFAULT_POLICY;
  resolvePolicy(policy, registry); // throws ScenarioError when it cannot run
  const strategy = makeStrategy(o);
  const window = o.window ?? 1000;
  const jitter = o.jitter ?? 0;
  const seed = o.seed ?? 1;
  const shard = o.shard ?? { index: 0, count: 1 };
  const { forbid, allow } = outcomesOf(s, policy, kinds ?? [...new Set([...INVARIANT_KINDS, ...registry.invariants.keys()])]);
  const judged = [
    ...forbid.map((spec) => ({ spec, kind: 'forbid' as const })),
    ...allow.map((spec) => ({ spec, kind: 'allow' as const })),
  ].map((x) => ({ ...x, outcome: outcomeName(x.spec), count: 0, example: undefined as OutcomeVerdict['example'] }));
  const opKeys = Object.entries(s.actors).flatMap(([a, spec]) => spec.ops.map((_op, i) => `${a}.${i}`));
  const finals = new Map<string, number>();
  const cap = strategy.name === 'dfs' ? (o.runs ?? Infinity) : Infinity;
  // Out of schedules: a DFS that hit its preemption bound, or a sampler that ran its runs.
  const spent = (): ExploreBound | null => (strategy.exhaustive ? null : strategy.name === 'dfs' ? 'preemption-bound' : 'runs');
  // One machine for every execution: one registry, one chooser, the watchers reset in place.
  const runner = new ScenarioRunner(s, {
    policy, seed, window, jitter, stateHash: strategy.name === 'dfs' && (o.stateCache ?? true),
    chooser: (p) => strategy.choose(p),
    ...(strategy.afterStep ? { afterStep: (a: string, fp: ReadonlySet<string>) => strategy.afterStep!(a, fp) } : {}),
    registry,
  });
  let executions = 0;
  let bound: ExploreBound | null;
  for (;;) {
    if (executions >= cap) {
      bound = strategy.newExecution() ? 'runs' : spent();
      break;
    }
    if (!strategy.newExecution()) {
      bound = spent();
      break;
    }
    const stop = o.shouldStop?.();
    if (stop) {
      bound = stop;
      break;
    }
    const r = runner.run();
    strategy.endExecution(r);
    if (r.outcome === 'error') PINSIM_BUG(r.error ?? 'explore: a run failed');
    // A shard other than 0 does not own a run without choice points (the unsharded run has one).
    if (r.stats.choicePoints === 0 && (shard.index !== 0 || r.pruned)) continue;
    if (r.pruned) continue;
    executions++;
    o.onExecution?.(executions, r);
    if (o.states) {
      const f = finalStateOf(r, opKeys);
      finals.set(f, (finals.get(f) ?? 0) + 1);
    }
    for (const v of judged) {
      if (!shows(r, v.spec)) continue;
      v.count++;
      v.example ??= { execution: executions, choices: [...r.choices], traceHash: r.traceHash, result: r };
    }
    yield executions;
  }
  const exhaustive = bound === null;
  return {
    scenario: s.name, policy, strategy: o.strategy ?? 'dfs', seed, window, jitter, shard,
    executions, states: strategy.stats.states, pruned: strategy.stats.pruned, exhaustive, bound,
    verdicts: judged.map((v) => ({
      outcome: v.outcome, kind: v.kind, verdict: verdictOf(v.count, executions, exhaustive), count: v.count, exhaustive, bound,
      ...(v.example ? { example: v.example } : {}),
    })),
    ...(o.states ? { finalStates: sortStates([...finals].map(([outcome, count]) => ({ outcome, count }))) } : {}),
  };
}

function sortStates(states: FinalState[]): FinalState[] {
  return states.sort((a, b) => (a.outcome < b.outcome ? -1 : a.outcome > b.outcome ? 1 : 0));
}

/**
 * explore() - explore @input (a scenario as written, or from the builder, validated as runScenario
 * validates it) under @o's policy and strategy. @kinds are the violation kinds forbidden when the
 * scenario's expectation has no `forbid` (default: every invariant kind, the registry's included).
 * Return: the verdicts, counts and bound; counterexamples carry their choices.
 * Throws ScenarioError for bad input.
 * @example
 *   const e = explore(JSON.parse(readFileSync('examples/explore/gpu-fault-vs-munmap.json', 'utf8')));
 *   e.verdicts.every((v) => v.verdict === 'Never'); // true: exhaustive, nothing forbidden happened
 */
export function explore(input: unknown, o: ExploreOptions = {}, kinds?: readonly string[]): ExploreResult {
  const registry = o.registry ?? defaultRegistry();
  return exploreValidated(validateOrThrow(input, registry), { ...o, registry }, kinds);
}

/** exploreValidated() - explore() for a scenario that validation already produced (as runValidated()). */
export function exploreValidated(s: Scenario, o: ExploreOptions = {}, kinds?: readonly string[]): ExploreResult {
  const steps = exploreSteps(s, o, kinds);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The bound a merged search reports: the strongest reason any part stopped early. */
const BOUND_ORDER: readonly ExploreBound[] = ['interrupted', 'time', 'runs', 'preemption-bound'];

/** mergeResults() - join shard results of one scenario and policy into one verdict. */
export function mergeResults(parts: readonly ExploreResult[]): ExploreResult {
  const first = parts[0];
  if (!first) throw new Error('merge: nothing to merge');
  const executions = parts.reduce((n, p) => n + p.executions, 0);
  const exhaustive = parts.every((p) => p.exhaustive);
  const bound = exhaustive ? null : BOUND_ORDER.find((b) => parts.some((p) => p.bound === b)) ?? 'runs';
  const verdicts = first.verdicts.map((v) => {
    const all = parts.map((p) => p.verdicts.find((x) => x.outcome === v.outcome && x.kind === v.kind)!);
    const count = all.reduce((n, x) => n + x.count, 0);
    const out: OutcomeVerdict = { outcome: v.outcome, kind: v.kind, verdict: verdictOf(count, executions, exhaustive), count, exhaustive, bound };
    const hit = all.find((x) => x.example);
    if (hit?.example) out.example = hit.example;
    return out;
  });
  const finals = new Map<string, number>();
  for (const p of parts) for (const f of p.finalStates ?? []) finals.set(f.outcome, (finals.get(f.outcome) ?? 0) + f.count);
  return {
    ...first, shard: { index: 0, count: 1 },
    executions,
    states: parts.reduce((n, p) => n + p.states, 0),
    pruned: parts.reduce((n, p) => n + p.pruned, 0),
    exhaustive, bound,
    verdicts,
    ...(parts.some((p) => p.finalStates) ? { finalStates: sortStates([...finals].map(([outcome, count]) => ({ outcome, count }))) } : {}),
  };
}
