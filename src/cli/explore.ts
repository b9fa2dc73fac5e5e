/**
 * `pinsim explore <scenario> [--strategy random|pct|dfs] [--runs N] [--time S] [--jobs J]
 * [--shard i/n] [--save DIR] [--states]`: a herd7-style verdict for each forbidden (and allowed)
 * outcome — Never / Always only after an exhaustive search, NotObserved / Sometimes otherwise, with
 * the bound that stopped it; a forbidden outcome's counterexample is shrunk and saved as a replay
 * file, with the `pinsim replay` command printed. Exit 1 when a forbidden outcome was observed (or,
 * after an exhaustive search, an allowed one never was), 0 otherwise, 2 when nothing was explored;
 * an interrupt (SIGINT) stops the search, prints what it found bounded by `interrupted`, saves the
 * counterexamples, and exits 130 (1 when a forbidden outcome was observed).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  exploreSteps, mergeResults, type ExploreOptions, type ExploreResult, type OutcomeVerdict, type StrategyName,
} from '../explore/explore.js';
import { replayFileOf } from '../explore/replay.js';
import { shrink } from '../explore/shrink.js';
import { exploreInWorkers, slim, type WorkerProgress } from '../explore/workers.js';
import { parseTime } from '../engine/clock.js';
import type { RunResult } from '../scenario/run/result.js';
import { loadScenarioInput } from '../scenario/format/load.js';
import { DEFAULT_POLICY, defaultRegistry, type Registry } from '../scenario/registry.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import type { Scenario } from '../scenario/format/types.js';
import { UsageError, flagParams, flagSeed, flagString, parseArgs } from './args.js';
import type { CommandSpec, ParsedArgs } from './args.js';
import { LOAD_FLAGS, Progress, flagLoadTimeout, resolvePolicies } from './common.js';

export const EXPLORE_SPEC: CommandSpec = {
  name: 'explore',
  operands: '<scenario>',
  minOperands: 1,
  maxOperands: 1,
  summary: 'explore interleavings: a verdict (Never, NotObserved, Sometimes, Always) for each forbidden or allowed outcome; counterexamples shrunk and saved',
  flags: {
    policy: { value: true, meta: 'P', doc: "the policy (default: the scenario's kernel.policy)" },
    strategy: { value: true, meta: 'random|pct|dfs', choices: ['random', 'pct', 'dfs'], doc: 'the search (default dfs)' },
    runs: { value: true, meta: 'N', doc: 'executions (random, pct: default 1000; dfs: a cap); 0 explores nothing (exit 2)' },
    time: { value: true, meta: 'S', doc: 'stop after S seconds of wall-clock time' },
    window: { value: true, meta: 'T', doc: 'the race window W (default 1us)' },
    jitter: { value: true, meta: 'T', doc: 'timing jitter added to every delay (default off)' },
    depth: { value: true, meta: 'D', doc: 'pct depth (default 3)' },
    'preemption-bound': { value: true, meta: 'K', doc: 'dfs: at most K non-default choices per execution' },
    'no-por': { value: false, doc: 'dfs: no partial-order reduction (sleep sets)' },
    'no-state-cache': { value: false, doc: 'dfs: no state cache' },
    jobs: { value: true, meta: 'J', doc: 'worker threads, each exploring one shard' },
    shard: { value: true, meta: 'i/n', doc: 'explore only shard i of n (for job arrays); join results with pinsim merge' },
    save: { value: true, meta: 'DIR', doc: 'write each counterexample, shrunk, as a replay file under DIR' },
    states: { value: false, doc: 'list the distinct final states (op results and observed values) with their counts' },
    progress: { value: false, doc: 'print progress lines on stderr even when it is not a terminal (CI and batch logs)' },
    seed: { value: true, meta: 'N', doc: 'the PRNG seed (default 1)' },
    json: { value: false, doc: 'print the result as JSON (for pinsim merge)' },
    out: { value: true, meta: 'FILE', doc: 'with --json: write it to FILE' },
    ...LOAD_FLAGS,
    param: { value: true, meta: 'K=V', repeat: true, doc: 'a parameter for scenario modules that export a function' },
  },
};

function count(p: ParsedArgs, name: string): number | undefined {
  const v = flagString(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, not "${v}"`, 'explore');
  return Number(v);
}

function time(p: ParsedArgs, name: string): number | undefined {
  const v = flagString(p, name);
  if (v === undefined) return undefined;
  const t = parseTime(v);
  if (!t.ok) throw new UsageError(`--${name}: expected ${t.expected}`, 'explore');
  return t.value;
}

/** `12,345`: counts as people read them. */
function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** One verdict line: the claim, its count, and what bounds it. */
export function verdictLine(v: OutcomeVerdict, executions: number): string {
  const head = `${v.kind} ${v.outcome}: `;
  const of = `${n(v.count)} of ${n(executions)} executions`;
  switch (v.verdict) {
    case 'Never': return `${head}Never (${n(executions)} executions, exhaustive)`;
    case 'Always': return `${head}Always (${of}, exhaustive)`;
    case 'NotObserved': return `${head}not observed in ${n(executions)} executions (bounded by ${v.bound ?? 'runs'}; not exhaustive)`;
    case 'Sometimes': return `${head}Sometimes (${of}${v.exhaustive ? ', exhaustive' : `; bounded by ${v.bound ?? 'runs'}`})`;
  }
}

export function printResult(r: ExploreResult, out: (s: string) => void): void {
  for (const v of r.verdicts) out(verdictLine(v, r.executions));
  if (r.finalStates) {
    out(`states ${n(r.finalStates.length)}`);
    for (const f of r.finalStates) out(`  ${String(f.count).padStart(8)}  ${f.outcome}`);
  }
  const search = r.exhaustive ? 'exhaustive' : `not exhaustive: bounded by ${r.bound ?? 'runs'}`;
  out(`executions ${n(r.executions)}, distinct states ${n(r.states)}, pruned ${n(r.pruned)}; strategy ${r.strategy}, ${search} ` +
    `(${r.scenario} under ${r.policy}, window ${r.window} ns${r.shard.count > 1 ? `, shard ${r.shard.index}/${r.shard.count}` : ''})`);
}

/** The exit status of an exploration (merge uses it too). */
export function exitOf(r: ExploreResult): number {
  if (r.verdicts.some((v) => v.kind === 'forbid' && v.count > 0)) return 1;
  if (r.exhaustive && r.verdicts.some((v) => v.kind === 'allow' && v.count === 0)) return 1;
  return r.bound === 'interrupted' ? 130 : 0;
}

/** What the progress line says: executions, rate, elapsed time and the violations found so far. */
class ExploreProgress {
  private readonly found = new Map<string, number>();
  private executions = 0;
  private last = 0;
  private readonly started = Date.now();
  private readonly line: Progress;

  constructor(line: Progress) {
    this.line = line;
  }

  note(r: RunResult): void {
    this.executions++;
    for (const k of new Set(r.violations.map((v) => v.kind))) this.found.set(k, (this.found.get(k) ?? 0) + 1);
    this.maybeShow();
  }

  add(p: WorkerProgress): void {
    this.executions += p.executions;
    for (const [k, c] of Object.entries(p.found)) this.found.set(k, (this.found.get(k) ?? 0) + c);
    this.maybeShow();
  }

  /** The first execution, then at most every 250 ms. */
  private maybeShow(): void {
    const now = Date.now();
    if (this.executions > 1 && now - this.last < 250) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const found = [...this.found].map(([k, c]) => `${k} ×${n(c)}`).join(', ');
    this.line.show(`${n(this.executions)} execution${this.executions === 1 ? '' : 's'}, ${n(Math.round(this.executions / Math.max(secs, 0.001)))}/s, ` +
      `${secs.toFixed(1)} s; violations so far: ${found || 'none'}`);
  }
}

/** The scenario and the options the flags give. */
async function setup(p: ParsedArgs, registry: Registry): Promise<{ raw: unknown; s: Scenario; opts: ExploreOptions }> {
  const file = p.operands[0] as string;
  const seed = flagSeed(p, 'explore') ?? 1;
  const raw = await loadScenarioInput(file, { seed, params: flagParams(p, 'explore'), ...flagLoadTimeout(p, 'explore') });
  const s = validateOrThrow(raw, registry, file);
  const policy = resolvePolicies(flagString(p, 'policy') ?? s.kernel.policy ?? DEFAULT_POLICY, registry, false)[0] as string;
  const shardFlag = flagString(p, 'shard');
  const opts: ExploreOptions = { policy, seed, strategy: (flagString(p, 'strategy') ?? 'dfs') as StrategyName };
  if (shardFlag !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shardFlag);
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard takes i/n with 0 ≤ i < n, not "${shardFlag}"`, 'explore');
    opts.shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  const runs = count(p, 'runs'), depth = count(p, 'depth'), bound = count(p, 'preemption-bound');
  if (depth === 0) throw new UsageError('--depth must be at least 1 (PCT with depth d looks for bugs that need d - 1 ordering changes)', 'explore');
  const window = time(p, 'window'), jitter = time(p, 'jitter');
  if (runs !== undefined) opts.runs = runs;
  if (depth !== undefined) opts.depth = depth;
  if (bound !== undefined) opts.preemptionBound = bound;
  if (window !== undefined) opts.window = window;
  if (jitter !== undefined) opts.jitter = jitter;
  if (p.flags['no-por'] === true) opts.por = false;
  if (p.flags['no-state-cache'] === true) opts.stateCache = false;
  if (p.flags['states'] === true) opts.states = true;
  return { raw, s, opts };
}

/**
 * search() - run the exploration in this thread, handing control back to the event loop every
 * 50 ms so that an interrupt is heard between executions.
 */
async function search(s: Scenario, opts: ExploreOptions, stop: () => 'time' | 'interrupted' | false, progress: ExploreProgress): Promise<ExploreResult> {
  const steps = exploreSteps(s, { ...opts, shouldStop: stop, onExecution: (_n, r) => progress.note(r) });
  let breath = Date.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (Date.now() - breath > 50) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      breath = Date.now();
    }
  }
}

export async function cmdExplore(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, EXPLORE_SPEC);
  const registry = defaultRegistry();
  const { raw, s, opts } = await setup(p, registry);
  if (opts.runs === 0) {
    process.stderr.write('pinsim: --runs 0 explores nothing, so there is no verdict to give\n');
    return 2;
  }
  const secs = count(p, 'time');
  const deadline = secs !== undefined ? Date.now() + secs * 1000 : null;
  const jobs = count(p, 'jobs') ?? 1;
  if (jobs < 1 || jobs > maxJobs()) {
    throw new UsageError(`--jobs must be from 1 to ${maxJobs()} on this machine, not ${jobs} (pinsim's limit: 4 worker threads per CPU, each holding its own model)`, 'explore');
  }
  if (jobs > 1 && opts.shard) throw new UsageError('--jobs and --shard do not go together (each job is a shard)', 'explore');
  const line = new Progress(p.flags['progress'] === true);
  const progress = new ExploreProgress(line);
  // The first interrupt stops the search between executions; a second one ends pinsim at once.
  const interrupt = new Int32Array(new SharedArrayBuffer(4));
  const onSigint = (): void => {
    if (Atomics.load(interrupt, 0)) process.exit(130);
    Atomics.store(interrupt, 0, 1);
  };
  process.on('SIGINT', onSigint);
  let r: ExploreResult;
  try {
    if (jobs > 1) {
      r = mergeResults(await exploreInWorkers(raw, opts, jobs, deadline, interrupt, (w) => progress.add(w)));
    } else {
      const stop = (): 'time' | 'interrupted' | false =>
        Atomics.load(interrupt, 0) ? 'interrupted' : deadline !== null && Date.now() > deadline ? 'time' : false;
      r = await search(s, { ...opts, registry }, stop, progress);
    }
  } finally {
    line.clear();
  }
  const json = p.flags['json'] === true;
  const outFile = flagString(p, 'out');
  if (json) {
    const text = JSON.stringify(slim(r), null, 2) + '\n';
    if (outFile) writeFileSync(outFile, text);
    else process.stdout.write(text);
  } else printResult(r, (l) => process.stdout.write(l + '\n'));
  const log = (l: string) => (json ? process.stderr : process.stdout).write(l + '\n');
  if (r.bound === 'interrupted') log(`interrupted after ${n(r.executions)} executions: the verdicts above are bounded by it`);
  saveCounterexamples(r, raw, s, flagString(p, 'save'), registry, log);
  if (r.executions === 0 && r.shard.count === 1 && r.bound !== 'interrupted') {
    process.stderr.write(`pinsim: nothing was explored (bounded by ${r.bound ?? 'runs'}), so there is no verdict to give\n`);
    return 2;
  }
  return exitOf(r);
}

/** Shrink each observed forbidden outcome's counterexample and save it under @dir as a replay file. */
function saveCounterexamples(r: ExploreResult, raw: unknown, s: Scenario, dir: string | undefined, registry: Registry, log: (l: string) => void): void {
  for (const v of r.verdicts) {
    if (v.kind !== 'forbid' || v.count === 0 || !v.example || !dir) continue;
    const spec = v.outcome.includes('=') ? Object.fromEntries(v.outcome.split(',').map((kv) => kv.split('=') as [string, string])) : v.outcome;
    const small = shrink({
      input: raw as Record<string, unknown>, policy: r.policy, seed: r.seed, window: r.window, jitter: r.jitter, choices: v.example.choices, outcome: spec, registry,
    });
    const replayDoc = replayFileOf(small.input, {
      seed: r.seed, policy: r.policy, window: r.window, jitter: r.jitter, choices: small.result.choices, traceHash: small.result.traceHash, pinsimVersion: version(),
    });
    mkdirSync(dir, { recursive: true });
    const out = join(dir, `${s.name}.${v.outcome.replace(/[^A-Za-z0-9_.-]+/g, '_')}.replay.json`);
    writeFileSync(out, JSON.stringify(replayDoc, null, 2) + '\n');
    log(`counterexample for ${v.outcome}: shrunk in ${small.attempts} replays to ${small.result.choices.length} choices, saved to ${out}`);
    log(`  replay it: npx pinsim replay ${out}`);
  }
}

/** The most worker threads explore starts: 4 per CPU (a worker holds a whole model; more only queue). */
export function maxJobs(): number {
  return 4 * availableParallelism();
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(pkg.version ?? 'unknown');
}
