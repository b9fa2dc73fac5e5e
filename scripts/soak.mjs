#!/usr/bin/env node
/**
 * `npm run soak [-- --runs N] [--seed S] [--time SECONDS] [--save DIR]`: the model fuzzer (issue 9).
 * Runs N generated scenarios (fuzz-gen.mjs; default 10^6) from fuzz seed S (default 1), each under
 * its random policy with dist/'s runScenario, and checks every run for internal errors and model
 * sanity (fuzz-sanity.mjs). Each seed also makes one bad input (issue 16's classes: names like
 * __proto__ where only a word fits, BigInt/Infinity/NaN/function values, onBreak cycles and depth,
 * misspelt counters, limits, duplicate JSON keys, text that is not UTF-8 JSON), which must be
 * refused as bad input: a crash or a silent run is a failure like any other. Time-boxed by --time; resumable by seed: it prints the next seed.
 * Each new failure is minimised (ops, actors, fields dropped while it still fails) and saved as a
 * regression scenario JSON, with its replay, in --save (default test/regress/pending/, which no test
 * runs: a failure found here is a bug in src/ to fix, and its scenario becomes a test then). A
 * failure that a scenario already in test/regress/pending/ still shows is counted as known, not saved.
 * With --reuse, each generated scenario also runs twice on one machine (ScenarioRunner, the
 * explorer's path: the second execution on the machine the first one reset in place, with choices
 * of its own), and the second execution must give exactly what a new machine gives for its choices
 * (trace hash, outcome, violations, results, observed values, op timings, notes, stats); a
 * difference is a `machine-reuse` failure, reported with its seed (not minimised).
 * Exit 0 with no failure, 1 with any, 2 for bad usage or a missing build.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BAD_INPUT_CLASSES, GENERATED_OPS, distEnv, generateBadInput, generateScenario, makeChooser } from './fuzz-gen.mjs';
import { badInputRun, failureSignature, sanityRun } from './fuzz-sanity.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function usage(msg) {
  process.stderr.write(`soak: ${msg}\nusage: npm run soak -- [--runs N] [--seed S] [--time SECONDS] [--save DIR] [--reuse]\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { runs: 1_000_000, seed: 1, time: Infinity, save: join(ROOT, 'test/regress/pending'), reuse: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i] ?? usage(`${flag} needs a value`);
    const int = (v) => (/^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : usage(`${flag} takes a non-negative integer, not "${v}"`));
    if (flag === '--runs') o.runs = int(value());
    else if (flag === '--seed') o.seed = int(value());
    else if (flag === '--time') o.time = int(value());
    else if (flag === '--save') o.save = value();
    else if (flag === '--reuse') o.reuse = true;
    else if (flag === '--help' || flag === '-h') usage('the model fuzzer');
    else usage(`unknown flag ${flag}`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
if (!existsSync(join(ROOT, 'dist/index.js'))) usage('dist/ is missing: run `npm run build` first');
const env = await distEnv();
const { runScenario, runValidated, validateOrThrow, defaultRegistry } = await import('../dist/index.js');
const { ScenarioRunner } = await import('../dist/scenario/run/run.js');
const { notText, parseJson } = await import('../dist/scenario/format/json.js');
/** The loader's reader of JSON text (load.ts): text that is not JSON text is refused before parsing. */
const readJson = (text) => (notText(text) !== null ? { ok: false } : parseJson(text));

const missing = [...env.implementedOps].filter((op) => !GENERATED_OPS.includes(op));
if (missing.length) process.stderr.write(`soak: warning: built ops the generator never makes: ${missing.join(', ')}\n`);

/** runOpts() - runScenario's options for a generated run (a fresh chooser each time). */
function runOpts(run) {
  const o = { policy: run.policy, seed: run.seed, window: run.window };
  if (run.window > 0) o.chooser = makeChooser(env, run.chooserSeed);
  return o;
}

/** What a run is judged by and everything it reports (for --reuse). */
function observable(r) {
  return JSON.stringify({
    outcome: r.outcome, traceHash: r.traceHash, violations: r.violations, results: r.results, observed: r.observed,
    ops: r.ops, notes: r.notes, stats: r.stats, choices: r.choices, error: r.error, expectations: r.expectations,
  });
}

/**
 * reuseDiff() - run @gen twice on one machine (the second execution with choices of its own) and
 * the second again on a new machine with its choices. Return: what differs, or null.
 */
function reuseDiff(gen) {
  const registry = defaultRegistry();
  let s;
  try {
    s = validateOrThrow(gen.scenario, registry);
  } catch {
    return null; // bad input is the sanity run's business
  }
  const { policy, seed, window } = gen.run;
  let chooser = makeChooser(env, gen.run.chooserSeed);
  const runner = new ScenarioRunner(s, { policy, seed, window, registry, chooser: (p) => chooser(p) });
  runner.run();
  chooser = makeChooser(env, gen.run.chooserSeed + 1);
  const again = runner.run();
  const fresh = runValidated(s, { policy, seed, window, registry, choices: again.choices });
  const a = observable(again), b = observable(fresh);
  if (a === b) return null;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `the second execution on a reused machine differs from a new machine's at: …${a.slice(Math.max(0, i - 60), i + 60)}… vs …${b.slice(Math.max(0, i - 60), i + 60)}…`;
}

function fails(scenario, run, kind) {
  return sanityRun(runScenario, scenario, runOpts(run)).failures.find((f) => f.kind === kind);
}

/**
 * minimise() - drop actors, ops, fields, devices, files and kernel settings from @gen while the
 * failure of @kind persists (a change that makes the input invalid does not fail the same way).
 * Budget: @maxTries runs or 30 s.
 */
function minimise(gen, kind, maxTries = 600) {
  let s = structuredClone(gen.scenario);
  const run = { ...gen.run };
  const t0 = Date.now();
  let tries = 0;
  const attempt = (cand, r = run) => {
    if (tries >= maxTries || Date.now() - t0 > 30_000) return false;
    tries++;
    return fails(cand, r, kind) !== undefined;
  };
  const opsOf = (a) => (Array.isArray(a) ? a : a.ops);
  let changed = true;
  while (changed) {
    changed = false;
    const edits = [];
    for (const name of Object.keys(s.actors)) {
      edits.push((c) => { delete c.actors[name]; });
      const ops = opsOf(s.actors[name]);
      for (let i = ops.length - 1; i >= 0; i--) {
        edits.push((c) => { opsOf(c.actors[name]).splice(i, 1); });
        for (const f of ['at', 'after', 'onSignal', 'onBreak', 'offset', 'wait', 'as', 'populate']) {
          if (f === 'populate') {
            if (ops[i].flags?.includes('populate')) edits.push((c) => { const o = opsOf(c.actors[name])[i]; o.flags = o.flags.filter((x) => x !== 'populate'); });
          } else if (ops[i][f] !== undefined) edits.push((c) => { delete opsOf(c.actors[name])[i][f]; });
        }
      }
    }
    for (const d of Object.keys(s.devices ?? {})) {
      edits.push((c) => { delete c.devices[d]; });
      for (const p of Object.keys(s.devices[d])) if (p !== 'model') edits.push((c) => { delete c.devices[d][p]; });
    }
    for (const f of Object.keys(s.files ?? {})) edits.push((c) => { delete c.files[f]; });
    if (s.processes) edits.push((c) => { delete c.processes; });
    for (const k of Object.keys(s.kernel)) if (k !== 'policy') edits.push((c) => { delete c.kernel[k]; });
    for (const edit of edits) {
      const cand = structuredClone(s);
      try {
        edit(cand);
      } catch {
        continue; // an edit made stale by an earlier one
      }
      if (attempt(cand)) {
        s = cand;
        changed = true;
      }
    }
    if (run.window > 0 && attempt(s, { ...run, window: 0 })) {
      run.window = 0;
      changed = true;
    }
  }
  return { scenario: s, run, tries };
}

function slug(text) {
  return text.split('\n')[0].toLowerCase().replace(/\[pinsim internal bug\]/g, '').replace(/\d+/g, '')
    .replace(/[^a-z]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48).replace(/-+$/, '');
}

/** save() - the minimised scenario with its replay, as `<kind>-<slug>.json`; Return: the path. */
function save(seed, failure, min) {
  const { result } = sanityRun(runScenario, min.scenario, runOpts(min.run));
  const s = structuredClone(min.scenario);
  s.name = `${failure.kind}-${slug(failure.message)}`;
  s.description = `pinsim soak, fuzz seed ${seed} (replay: npm run soak -- --seed ${seed} --runs 1), minimised: ${failure.kind}: ${failure.message.split('\n')[0]}`;
  const replay = { seed: min.run.seed, policy: min.run.policy, window: min.run.window };
  if (result?.choices?.length) replay.choices = result.choices;
  s.replay = replay;
  mkdirSync(opts.save, { recursive: true });
  const file = join(opts.save, `${s.name}.json`);
  writeFileSync(file, JSON.stringify(s, null, 2) + '\n');
  // The saved file alone (its replay) must show the same failure.
  const again = sanityRun(runScenario, s, {}).failures.some((f) => f.kind === failure.kind);
  return { file, replays: again };
}

/** Signature → pending file, for every failure a pending regression scenario still shows. */
function knownFailures() {
  const dir = join(ROOT, 'test/regress/pending');
  const known = new Map();
  if (!existsSync(dir)) return known;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const s = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    for (const x of sanityRun(runScenario, s).failures) if (x.kind !== 'invalid-input' && !known.has(failureSignature(x))) known.set(failureSignature(x), `test/regress/pending/${f}`);
  }
  return known;
}

const known = knownFailures();
const started = Date.now();
const deadline = started + opts.time * 1000;
const byKind = new Map();
const classes = new Map();
let runs = 0;
let seed = opts.seed;
let lastReport = started;
const outcomes = {};
const badClasses = new Map();
const say = (line) => process.stderr.write(line + '\n');

say(`soak: ${opts.runs} runs from seed ${opts.seed}${Number.isFinite(opts.time) ? `, at most ${opts.time} s` : ''}`);
for (; runs < opts.runs && Date.now() < deadline; runs++, seed++) {
  const gen = generateScenario(seed, env);
  const { result, failures } = sanityRun(runScenario, gen.scenario, runOpts(gen.run));
  if (result) outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
  const reuse = opts.reuse ? reuseDiff(gen) : null;
  if (reuse) {
    byKind.set('machine-reuse', (byKind.get('machine-reuse') ?? 0) + 1);
    const sig = 'machine-reuse';
    const cls = classes.get(sig);
    if (cls) cls.count++;
    else classes.set(sig, { count: 1, seed, file: `(machine reuse: npm run soak -- --reuse --seed ${seed} --runs 1)`, known: false });
    if (!cls) say(`soak: seed ${seed}: machine-reuse: ${reuse}`);
  }
  const bad = generateBadInput(seed, env);
  badClasses.set(bad.cls, (badClasses.get(bad.cls) ?? 0) + 1);
  const badFailures = badInputRun(runScenario, readJson, bad);
  for (const f of badFailures) {
    byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    const sig = failureSignature(f);
    const cls = classes.get(sig);
    if (cls) cls.count++;
    else {
      classes.set(sig, { count: 1, seed, file: `(bad input ${bad.cls}: npm run soak -- --seed ${seed} --runs 1)`, known: false });
      say(`soak: seed ${seed}: ${f.kind}: ${f.message.split('\n')[0]}`);
    }
  }
  const seenKinds = new Set();
  for (const f of failures) {
    if (seenKinds.has(f.kind)) continue;
    seenKinds.add(f.kind);
    byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    const sig = failureSignature(f);
    const cls = classes.get(sig);
    if (cls) {
      cls.count++;
      continue;
    }
    if (known.has(sig)) {
      classes.set(sig, { count: 1, seed, file: known.get(sig), known: true });
      continue;
    }
    const min = minimise(gen, f.kind);
    const { file, replays } = save(seed, f, min);
    classes.set(sig, { count: 1, seed, file });
    say(`soak: seed ${seed}: ${f.kind}: ${f.message.split('\n')[0]}`);
    say(`      minimised in ${min.tries} runs → ${relative(process.cwd(), file)}${replays ? '' : ' (its replay does not reproduce it alone)'}`);
  }
  const now = Date.now();
  if (now - lastReport > 10_000) {
    lastReport = now;
    say(`soak: ${runs + 1} runs, ${((runs + 1) / ((now - started) / 1000)).toFixed(0)}/s, ${[...byKind.values()].reduce((a, b) => a + b, 0)} failing runs, next seed ${seed + 1}`);
  }
}

const secs = (Date.now() - started) / 1000;
const total = [...byKind.values()].reduce((a, b) => a + b, 0);
const out = [
  `soak: ${runs} runs (seeds ${opts.seed}..${seed - 1}) in ${secs.toFixed(1)} s: ${(runs / Math.max(secs, 1e-9)).toFixed(0)} runs/s`,
  `      outcomes: ${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  `      bad inputs: ${[...badClasses.values()].reduce((a, b) => a + b, 0)} of ${badClasses.size}/${BAD_INPUT_CLASSES.length} classes, refused unless a failure says otherwise`,
  `      internal errors: ${byKind.get('internal-error') ?? 0}; sanity failures: ${total - (byKind.get('internal-error') ?? 0)}` +
    `${total ? ` (${[...byKind].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
  `      new failures (saved): ${[...classes.values()].filter((c) => !c.known).length}; known bugs still failing: ${[...classes.values()].filter((c) => c.known).length}`,
  ...[...classes.values()].map((c) => `      ${c.count} × ${c.known ? 'known bug of ' : ''}${c.known || c.file.startsWith('(') ? c.file : relative(process.cwd(), c.file)} (first at seed ${c.seed})`),
  `      next seed: ${seed} (resume: npm run soak -- --seed ${seed}${runs < opts.runs ? ` --runs ${opts.runs - runs}` : ''})`,
];
process.stdout.write(out.join('\n') + '\n');
process.exitCode = total ? 1 : 0;
