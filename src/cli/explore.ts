/**
 * `pinsim explore <scenario> [--strategy random|pct|dfs] [--runs N] [--time S] [--jobs J]
 * [--shard i/n] [--save DIR]`: a herd7-style verdict (Never / Sometimes within the bounds) for each
 * forbidden (and allowed) outcome, with counts; a Sometimes counterexample is shrunk and saved as a
 * replay file, with the `pinsim replay` command printed. Exit 0 when every forbid is Never, 1 otherwise.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { explore, mergeResults, type ExploreOptions, type ExploreResult, type StrategyName } from '../explore/explore.js';
import { replayFileOf } from '../explore/replay.js';
import { shrink } from '../explore/shrink.js';
import { exploreInWorkers, slim } from '../explore/workers.js';
import { parseTime } from '../engine/clock.js';
import { loadScenarioInput } from '../scenario/format/load.js';
import { DEFAULT_POLICY, INVARIANT_KINDS, defaultRegistry } from '../scenario/registry.js';
import { validateOrThrow } from '../scenario/format/validate.js';
import { UsageError, flagParams, flagSeed, flagString, parseArgs } from './args.js';
import type { CommandSpec } from './args.js';
import { LOAD_FLAGS, Progress, flagLoadTimeout, resolvePolicies } from './common.js';

export const EXPLORE_SPEC: CommandSpec = {
  name: 'explore',
  operands: '<scenario>',
  minOperands: 1,
  maxOperands: 1,
  summary: 'explore interleavings: Never / Sometimes for each forbidden outcome, counterexamples shrunk and saved',
  flags: {
    policy: { value: true, meta: 'P', doc: "the policy (default: the scenario's kernel.policy)" },
    strategy: { value: true, meta: 'random|pct|dfs', choices: ['random', 'pct', 'dfs'], doc: 'the search (default dfs)' },
    runs: { value: true, meta: 'N', doc: 'executions (random, pct: default 1000; dfs: a cap)' },
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
    seed: { value: true, meta: 'N', doc: 'the PRNG seed (default 1)' },
    json: { value: false, doc: 'print the result as JSON (for pinsim merge)' },
    out: { value: true, meta: 'FILE', doc: 'with --json: write it to FILE' },
    ...LOAD_FLAGS,
    param: { value: true, meta: 'K=V', repeat: true, doc: 'a parameter for scenario modules that export a function' },
  },
};

function count(p: ReturnType<typeof parseArgs>, name: string): number | undefined {
  const v = flagString(p, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, not "${v}"`, 'explore');
  return Number(v);
}

function time(p: ReturnType<typeof parseArgs>, name: string): number | undefined {
  const v = flagString(p, name);
  if (v === undefined) return undefined;
  const t = parseTime(v);
  if (!t.ok) throw new UsageError(`--${name}: expected ${t.expected}`, 'explore');
  return t.value;
}

export function printResult(r: ExploreResult, out: (s: string) => void): void {
  for (const v of r.verdicts) {
    out(`${v.kind} ${v.outcome}: ${v.verdict}${v.count ? ` (${v.count} of ${r.executions} executions)` : ''}`);
  }
  out(`executions ${r.executions}, distinct states ${r.states}, pruned ${r.pruned}, ` +
    `${r.strategy === 'dfs' ? `exhaustive: ${r.exhaustive ? 'yes' : 'no'}` : `strategy ${r.strategy}`} (${r.scenario} under ${r.policy}, window ${r.window} ns)`);
}

export async function cmdExplore(argv: readonly string[]): Promise<number> {
  const p = parseArgs(argv, EXPLORE_SPEC);
  const file = p.operands[0] as string;
  const registry = defaultRegistry();
  const seed = flagSeed(p, 'explore') ?? 1;
  const raw = await loadScenarioInput(file, { seed, params: flagParams(p, 'explore'), ...flagLoadTimeout(p, 'explore') });
  const s = validateOrThrow(raw, registry, file);
  const policy = resolvePolicies(flagString(p, 'policy') ?? s.kernel.policy ?? DEFAULT_POLICY, registry, false)[0] as string;
  const shardFlag = flagString(p, 'shard');
  let shard = { index: 0, count: 1 };
  if (shardFlag !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(shardFlag);
    if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard takes i/n with 0 ≤ i < n, not "${shardFlag}"`, 'explore');
    shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  const opts: Omit<ExploreOptions, 'shouldStop' | 'onExecution' | 'registry'> = { policy, seed, shard, strategy: (flagString(p, 'strategy') ?? 'dfs') as StrategyName };
  const runs = count(p, 'runs'), depth = count(p, 'depth'), bound = count(p, 'preemption-bound');
  if (depth === 0) throw new UsageError('--depth must be at least 1 (PCT with depth d looks for bugs that need d - 1 ordering changes)', 'explore');
  const window = time(p, 'window'), jitter = time(p, 'jitter'), secs = count(p, 'time');
  if (runs !== undefined) opts.runs = runs;
  if (depth !== undefined) opts.depth = depth;
  if (bound !== undefined) opts.preemptionBound = bound;
  if (window !== undefined) opts.window = window;
  if (jitter !== undefined) opts.jitter = jitter;
  if (p.flags['no-por'] === true) opts.por = false;
  if (p.flags['no-state-cache'] === true) opts.stateCache = false;
  const deadline = secs !== undefined ? Date.now() + secs * 1000 : null;
  const jobs = count(p, 'jobs') ?? 1;
  if (jobs < 1 || jobs > maxJobs()) {
    throw new UsageError(`--jobs must be from 1 to ${maxJobs()} on this machine, not ${jobs} (pinsim's limit: 4 worker threads per CPU, each holding its own model)`, 'explore');
  }
  const progress = new Progress();
  const started = Date.now();
  let r: ExploreResult;
  if (jobs > 1) {
    if (shardFlag !== undefined) throw new UsageError('--jobs and --shard do not go together (each job is a shard)', 'explore');
    progress.show(`exploring with ${jobs} workers…`);
    r = mergeResults(await exploreInWorkers(raw, opts, jobs, deadline));
  } else {
    r = explore(s, {
      ...opts, registry,
      shouldStop: () => deadline !== null && Date.now() > deadline,
      onExecution: (n) => {
        if (n % 200 === 0) {
          const secsSoFar = (Date.now() - started) / 1000;
          progress.show(`${n} executions, ${(n / Math.max(secsSoFar, 0.001)).toFixed(0)}/s, ${secsSoFar.toFixed(1)} s`);
        }
      },
    }, INVARIANT_KINDS);
  }
  progress.clear();
  const json = p.flags['json'] === true;
  if (json) {
    const text = JSON.stringify(slim(r), null, 2) + '\n';
    const out = flagString(p, 'out');
    if (out) writeFileSync(out, text);
    else process.stdout.write(text);
  } else printResult(r, (l) => process.stdout.write(l + '\n'));
  const saveDir = flagString(p, 'save');
  const log = (l: string) => (json ? process.stderr : process.stdout).write(l + '\n');
  for (const v of r.verdicts) {
    if (v.kind !== 'forbid' || v.verdict !== 'Sometimes' || !v.example || !saveDir) continue;
    const spec = v.outcome.includes('=') ? Object.fromEntries(v.outcome.split(',').map((kv) => kv.split('=') as [string, string])) : v.outcome;
    const small = shrink({
      input: raw as Record<string, unknown>, policy, seed, window: r.window, jitter: r.jitter, choices: v.example.choices, outcome: spec, registry,
    });
    const replayDoc = replayFileOf(small.input, {
      seed, policy, window: r.window, jitter: r.jitter, choices: small.result.choices, traceHash: small.result.traceHash, pinsimVersion: version(),
    });
    mkdirSync(saveDir, { recursive: true });
    const out = join(saveDir, `${s.name}.${v.outcome.replace(/[^A-Za-z0-9_.-]+/g, '_')}.replay.json`);
    writeFileSync(out, JSON.stringify(replayDoc, null, 2) + '\n');
    log(`counterexample for ${v.outcome}: shrunk in ${small.attempts} replays to ${small.result.choices.length} choices, saved to ${out}`);
    log(`  replay it: npx pinsim replay ${out}`);
  }
  return r.verdicts.some((v) => v.kind === 'forbid' && v.verdict === 'Sometimes') ? 1 : 0;
}

/** The most worker threads explore starts: 4 per CPU (a worker holds a whole model; more only queue). */
export function maxJobs(): number {
  return 4 * availableParallelism();
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return String(pkg.version ?? 'unknown');
}
