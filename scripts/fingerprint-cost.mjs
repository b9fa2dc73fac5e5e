#!/usr/bin/env node
/**
 * What the explorer's state fingerprint costs, in CPU time: per choice point, the CPU of executions
 * that ask for it at every choice point less that of the same executions (the same random picks)
 * without it, over their choice points — the books' upkeep at every trace event and write
 * included; and a call made again where nothing changed since the last (50 in a row: the part that
 * does not depend on what changed). (A single call is too short to time alone: a CPU clock read
 * costs about as much, and counts the process's other threads.) Alternating samples; the median
 * and range of the per-sample figures.
 *
 *   node scripts/fingerprint-cost.mjs [--dist DIR] [--samples N] [--json]
 *
 * Scenarios: the bench's two explore files, and the ODP one on a larger machine: another process
 * populates --pages pages (default 10240) first, the race runs 100 ms later, and those frames and
 * that page table are in every fingerprint.
 * --dist: a built pinsim (default ./dist), e.g. another commit's, to compare before and after.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const dist = resolve(opt('--dist', join(HERE, '..', 'dist')));
const samples = Number(opt('--samples', 7));
const pages = Number(opt('--pages', 10240));
const json = args.includes('--json');

const { ScenarioRunner } = await import(pathToFileURL(join(dist, 'scenario/run/run.js')).href);
const { validateOrThrow } = await import(pathToFileURL(join(dist, 'scenario/format/validate.js')).href);
const { defaultRegistry } = await import(pathToFileURL(join(dist, 'scenario/registry.js')).href);
const registry = defaultRegistry();

const load = (f) => JSON.parse(readFileSync(join(HERE, '..', f), 'utf8'));

/** @s with another process that populates @n anonymous pages at time 0 (and keeps them). */
function larger(s, n) {
  const t = structuredClone(s);
  t.name = `${s.name}+${n}-pages`;
  t.kernel.memory = `${Math.max(256, Math.ceil((n * 4) / 1024) * 4)}M`;
  t.actors.big = [
    { op: 'mmap', length: `${n * 4}K`, prot: 'rw', flags: ['private'], as: 'bigbuf' },
    { op: 'store', addr: 'bigbuf', length: `${n * 4}K`, as: 'bigstore' },
  ];
  return t;
}

/** A tiny deterministic PRNG (the picks must be the same with and without the fingerprint). */
function prng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/**
 * @executions executions of @s on one runner, random picks from @seed. mode 'off': no state
 * fingerprint; 'on': the fingerprint asked at every choice point, as the explorer's state cache
 * does; 'again': asked, then asked 50 times more in a row, those bracketed by CPU clock reads.
 * Return: CPU µs of the executions, choice points, events, and the µs and number of the calls made again.
 */
function runs(s, executions, seed, mode) {
  let pick = prng(seed);
  const t = { us: 0, points: 0, events: 0, againUs: 0, again: 0 };
  const runner = new ScenarioRunner(s, {
    registry, window: 1000, stateHash: mode !== 'off',
    chooser: (p) => {
      t.points++;
      if (mode !== 'off') p.fingerprint();
      if (mode === 'again') {
        // The state is as the last call left it: what a fingerprint costs when nothing changed.
        const c0 = process.cpuUsage();
        for (let i = 0; i < AGAIN; i++) p.fingerprint();
        const c = process.cpuUsage(c0);
        t.againUs += c.user + c.system;
        t.again += AGAIN;
      }
      return pick(p.candidates.length);
    },
  });
  const c0 = process.cpuUsage();
  for (let i = 0; i < executions; i++) {
    pick = prng(seed + i);
    t.events += runner.run().stats.events;
  }
  const c = process.cpuUsage(c0);
  t.us = c.user + c.system;
  return t;
}

const AGAIN = 50;

function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  return a[a.length >> 1];
}

const fmt = (xs, d = 2) => ({ median: +median(xs).toFixed(d), range: [+Math.min(...xs).toFixed(d), +Math.max(...xs).toFixed(d)] });

/**
 * The fingerprint's cost on @s: per choice point, the CPU of executions asking for it at every
 * choice point less the same executions without it (the books' upkeep at every event included);
 * and per call where nothing changed since the last.
 */
function measure(name, s, executions) {
  for (const mode of ['on', 'off', 'again']) runs(s, Math.max(2, executions >> 2), 99, mode);
  const per = [], perExecution = [], again = [];
  let t = null;
  for (let i = 0; i < samples; i++) {
    const seed = 7919 * i + 1;
    t = runs(s, executions, seed, 'on');
    const off = runs(s, executions, seed, 'off');
    per.push((t.us - off.us) / t.points);
    perExecution.push((t.us - off.us) / executions);
    const a = runs(s, Math.max(1, executions >> 3), seed, 'again');
    again.push(a.againUs / a.again);
  }
  const r = {
    scenario: name, choicePointsPerExecution: +(t.points / executions).toFixed(1), eventsPerExecution: Math.round(t.events / executions),
    usPerChoicePoint: fmt(per), usPerExecution: fmt(perExecution, 0), usNothingChanged: fmt(again),
  };
  if (json) console.log(JSON.stringify(r));
  else {
    const f = (x) => `${x.median} µs (${x.range[0]}…${x.range[1]})`;
    console.log(`${name}: ${r.choicePointsPerExecution} choice points, ${r.eventsPerExecution} events an execution`);
    console.log(`  per choice point ${f(r.usPerChoicePoint)}, per execution ${f(r.usPerExecution)}; a fingerprint where nothing changed ${f(r.usNothingChanged)}`);
  }
  return r;
}

/** @s with the race moved @ms later, after another process populated @n anonymous pages (kept mapped). */
function populatedFirst(s, n, ms) {
  const t = larger(s, n);
  const late = (x) => (typeof x === 'string' && x.endsWith('us') ? `${Number(x.slice(0, -2)) + ms * 1000}us` : x);
  for (const [name, ops] of Object.entries(t.actors)) {
    if (name === 'big') continue;
    ops[0].at = late(ops[0].at ?? '0us');
    for (const op of ops.slice(1)) if (op.at) op.at = late(op.at);
  }
  return t;
}

const gpu = validateOrThrow(load('examples/explore/gpu-fault-vs-munmap-skip-read-retry.json'), registry);
const odp = validateOrThrow(load('examples/explore/odp-fault-vs-truncate.json'), registry);
const big = validateOrThrow(populatedFirst(load('examples/explore/odp-fault-vs-truncate.json'), pages, 100), registry);
if (!json) console.log(`pinsim at ${dist} (CPU time; median of ${samples} samples, range)`);
measure('gpu-fault-vs-munmap-skip-read-retry', gpu, 2000);
measure('odp-fault-vs-truncate', odp, 2000);
measure(`odp-fault-vs-truncate after ${pages} pages populated`, big, 24);
