/**
 * runScenario(): validate a scenario, build the simulated machine once (world.ts), run it until
 * every scenario actor has finished or is blocked with nothing pending (or `kernel.until`), and
 * return the result with its expectations evaluated.
 */
import type { ChoicePoint } from '../../engine/scheduler.js';
import { storage_token } from '../../mm/page-writeback.js';
import { KernelBugStop, PinsimInternalError } from '../../mm/mmdebug.js';
import type { MmTraceEvent } from '../../mm/trace_events.js';
import { validateOrThrow } from '../format/validate.js';
import type { Scenario } from '../format/types.js';
import { DEFAULT_POLICY, defaultRegistry, resolvePolicy, type Registry } from '../registry.js';
import { finalEvents } from './background.js';
import { checkExpectations, expectationFor, storageKeys } from './expect.js';
import { recordNotRun, recordResult, recordTiming } from './record.js';
import type { RunResult } from './result.js';
import { opAtKey } from './state.js';
import { Machine, type ExecutionOptions, type World } from './world.js';

export interface RunOptions {
  /** Overrides `kernel.policy` (default linux-6.12). */
  policy?: string;
  /** Default 1. */
  seed?: number;
  /** The scheduler's window W in ns: candidates within W of the earliest are a choice; 0 under run/check. */
  window?: number;
  /** Timing jitter in ns (overrides `kernel.jitter`). */
  jitter?: number;
  /** Recorded choices to replay. */
  choices?: readonly number[];
  /** A strategy's pick at each choice point (wins over `choices`). */
  chooser?: (p: ChoicePoint) => number;
  /** Extra listener on every trace event (reports). */
  trace?: (ev: MmTraceEvent) => void;
  /** Record the running trace hash after every event (determinism self-check). */
  stepHashes?: string[];
  /** After every step: the actor and the resources it touched (partial-order reduction). */
  afterStep?: (actor: string, footprint: ReadonlySet<string>) => void;
  /** Offer a state fingerprint at every choice point (the explorer's state cache). */
  stateHash?: boolean;
  registry?: Registry;
}

/**
 * runScenario() - run @input (a scenario as written, or from the builder) under one policy.
 * Throws ScenarioError for bad input; pinsim's own failures come back as outcome `error`.
 * @example
 *   const r = runScenario(JSON.parse(fs.readFileSync('examples/gup-nic-truncate.json', 'utf8')), { policy: 'linux-4.20' });
 *   r.violations.map((v) => v.kind); // ['lost-write']
 */
export function runScenario(input: unknown, opts: RunOptions = {}): RunResult {
  const registry = opts.registry ?? defaultRegistry();
  return runValidated(validateOrThrow(input, registry), { ...opts, registry });
}

/** runValidated() - runScenario() for a scenario that validation already produced. */
export function runValidated(s: Scenario, opts: RunOptions = {}): RunResult {
  return new ScenarioRunner(s, opts).run({
    ...(opts.choices ? { choices: opts.choices } : {}),
    ...(opts.stepHashes ? { stepHashes: opts.stepHashes } : {}),
  });
}

/**
 * ScenarioRunner - runs of one validated scenario under one policy, seed, window and jitter, each
 * on the same Machine (world.ts): the policy, its era features and the expectation are resolved
 * once, the watchers of the trace reset in place between runs. A run gives the result a new
 * machine would give for the same choices (test/unit/scenario/machine-reuse.test.ts checks it).
 */
export class ScenarioRunner {
  private readonly s: Scenario;
  /** What every result of this runner says first. */
  private readonly base: Pick<RunResult, 'scenario' | 'policy' | 'seed'>;
  private readonly expect: ReturnType<typeof expectationFor>;
  private readonly machine: Machine | null;
  /** Every op's key (`actor.index`) and `as`, in the scenario's order. */
  private readonly opKeys: readonly (readonly [string, string | undefined])[];
  /** The file pages whose durable content the expectations name (`storage:f@index`). */
  private readonly storage: readonly { key: string; file: string; index: number }[];
  /** The choices a run replays when it is given none (the scenario's replay section). */
  private readonly choices: readonly number[] | undefined;

  constructor(s: Scenario, opts: Omit<RunOptions, 'choices' | 'stepHashes'> = {}) {
    const registry = opts.registry ?? defaultRegistry();
    const policyName = opts.policy ?? s.replay?.policy ?? s.kernel.policy ?? DEFAULT_POLICY;
    const policy = resolvePolicy(policyName, registry);
    const seed = opts.seed ?? s.replay?.seed ?? 1;
    this.s = s;
    this.base = { scenario: s.name, policy: policyName, seed };
    this.expect = expectationFor(s, policyName);
    this.choices = s.replay?.choices;
    this.opKeys = Object.entries(s.actors).flatMap(([name, spec]) => spec.ops.map((op, i) => [`${name}.${i}`, op.as] as const));
    this.storage = 'skip' in this.expect ? [] : storageKeys(this.expect).flatMap((key) => {
      const m = /^storage:(.+)@(\d+)$/.exec(key);
      return m ? [{ key, file: m[1] as string, index: Number(m[2]) }] : [];
    });
    this.machine = 'skip' in this.expect ? null : new Machine(s, {
      registry, policyName, policy, seed,
      window: opts.window ?? s.replay?.window ?? 0,
      jitter: opts.jitter ?? s.replay?.jitter ?? s.kernel.jitter ?? 0,
      ...(opts.chooser ? { chooser: opts.chooser } : {}),
      ...(opts.trace ? { trace: opts.trace } : {}),
      ...(opts.afterStep ? { afterStep: opts.afterStep } : {}),
      ...(opts.stateHash ? { stateHash: true } : {}),
    });
  }

  /** run() - one execution: @e's choices (else the scenario's replay), to the end. */
  run(e: ExecutionOptions = {}): RunResult {
    const { s, expect } = this;
    const { scenario, policy, seed } = this.base;
    if ('skip' in expect) {
      return {
        scenario, policy, seed, outcome: 'skip', violations: [], results: {}, observed: {}, ops: {},
        expectations: { met: true, failures: [] },
        stats: { events: 0, simTimeNs: 0, faults: 0, invalidations: 0, pins: 0, choicePoints: 0 }, traceHash: '', choices: [],
        skipped: expect.skip,
      };
    }
    const choices = e.choices ?? this.choices;
    const w = (this.machine as Machine).build({ ...(choices ? { choices } : {}), ...(e.stepHashes ? { stepHashes: e.stepHashes } : {}) });
    const { crashed, error } = runToEnd(w);
    const { k, sched, bus, st, violations, stats } = w;

    // Ops that never finished: blocked, crashed (cut off by a kernel BUG) or never started.
    const end = sched.now;
    for (const [key, r] of st.running) {
      const waiting = r.actor.state === 'waiting' ? end - r.actor.waitStart : 0;
      const as = opAtKey(s, key)?.as;
      recordResult(st, key, as, crashed ? 'crashed' : 'blocked');
      recordTiming(st, key, as, { start: r.start, end, blockedNs: r.actor.blockedNs - r.blocked0 + waiting, lateNs: r.lateNs });
    }
    for (const [key, as] of this.opKeys) if (st.results[key] === undefined) recordNotRun(st, key, as);

    // The durable content of the file pages the expectations name (`storage:f@index`).
    for (const { key, file, index } of this.storage) {
      const inode = k.inodes.get(file);
      if (inode) st.observed[key] = k.contents[storage_token(k, inode, index)] as string;
    }

    // A new result object each run, written out field by field (the explorer makes one for every
    // execution; spreading objects into it cost more than the rest of this function).
    const r: RunResult = {
      scenario, policy, seed, outcome: 'pass', violations, results: st.results, observed: st.observed, ops: st.ops,
      expectations: { met: true, failures: [] },
      stats: {
        events: bus.count, simTimeNs: end, faults: stats.faults, invalidations: stats.invalidations, pins: stats.pins,
        choicePoints: sched.recorded.length,
      },
      traceHash: bus.traceHash, choices: sched.recorded.slice(),
    };
    if (sched.pruned) r.pruned = true;
    const notes = [...w.notes, ...w.st.notes, ...replayNotes(choices, sched)];
    if (notes.length) r.notes = notes;
    if (error) return { ...r, outcome: 'error', error };
    const failures = checkExpectations(expect, r);
    r.expectations = { met: failures.length === 0, failures };
    r.outcome = failures.length ? 'expectation-failed' : violations.length ? 'violations' : 'pass';
    return r;
  }
}

/**
 * runToEnd() - run @w's scheduler to the end of the run, then (unless a kernel BUG stopped it) report
 * the ops still blocked and the end-of-run events, and finish the checkers.
 * Return: whether a modelled BUG crashed the kernel, and pinsim's own error if it failed.
 */
function runToEnd(w: World): { crashed: boolean; error: string | undefined } {
  const { k, sched, st } = w;
  let crashed = false;
  let error: string | undefined;
  try {
    sched.run();
  } catch (e) {
    if (e instanceof KernelBugStop) crashed = true;
    else error = e instanceof PinsimInternalError ? e.message : `[pinsim internal bug] ${(e as Error)?.stack ?? String(e)}`;
  }
  if (!crashed && !error) {
    for (const [key, r] of st.running) {
      const op = opAtKey(st.scenario, key);
      k.emit({ type: 'op_blocked', time: k.now, actor: r.actor.name, op: op?.op ?? '?', name: key, since: r.start, wq: r.actor.waitingOn?.name ?? '' });
    }
    try {
      finalEvents(k);
    } catch (e) {
      if (e instanceof KernelBugStop) crashed = true;
      else error = `[pinsim internal bug] ${(e as Error)?.stack ?? String(e)}`;
    }
  }
  for (const c of w.checkers) c.finish();
  return { crashed, error };
}

/** replayNotes() - how replayed @choices did not fit the run's choice points (they name another run). */
function replayNotes(choices: readonly number[] | undefined, sched: World['sched']): string[] {
  const notes: string[] = [];
  const bad = sched.badChoice;
  if (bad) {
    notes.push(`replayed choice ${bad.choice} at choice point ${bad.index} is out of range: only ${bad.candidates} candidates there, so the default (0) was taken; ` +
      'the choices were recorded for another scenario, policy, seed or pinsim version');
  }
  if (choices && choices.length > sched.recorded.length) {
    notes.push(`the replay lists ${choices.length} choices but the run reached only ${sched.recorded.length} choice points; the choices were recorded for another run`);
  }
  return notes;
}
