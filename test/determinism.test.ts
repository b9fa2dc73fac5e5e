/**
 * DESIGN §3: the same scenario, policy, seed and choices give a byte-identical trace (traceHash);
 * recorded choices are the whole replay; a genuine tie is a choice point whose other pick gives
 * another, equally replayable, interleaving.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Prng } from '../src/engine/prng.js';
import type { RunResult } from '../src/scenario/run/result.js';
import { runScenario, type RunOptions } from '../src/scenario/run/run.js';

const DIR = join(import.meta.dirname, '..', 'examples');
const EXAMPLES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const POLICIES = ['linux-4.20', 'linux-6.12'];
const load = (f: string): unknown => JSON.parse(readFileSync(join(DIR, f), 'utf8'));

/** Everything a run produces that must not vary between identical runs. */
const fingerprint = (r: RunResult) => ({
  outcome: r.outcome, traceHash: r.traceHash, results: r.results, observed: r.observed, ops: r.ops, choices: r.choices,
  violations: r.violations.map((v) => ({ kind: v.kind, time: v.time, actor: v.actor, pfn: v.pfn, chain: v.chain })),
  stats: r.stats, error: r.error,
});

function runWithSteps(s: unknown, opts: RunOptions): { r: RunResult; steps: string[] } {
  const steps: string[] = [];
  return { r: runScenario(s, { ...opts, stepHashes: steps }), steps };
}

describe('determinism of every example', () => {
  it('finds the examples directory', () => {
    expect(EXAMPLES).toContain('gup-nic-truncate.json');
  });

  describe.each(EXAMPLES)('%s', (file) => {
    it.each(POLICIES)('runs twice under %s with the same traceHash, event by event, and the same results', (policy) => {
      const a = runWithSteps(load(file), { policy });
      const b = runWithSteps(load(file), { policy });
      expect(a.r.error).toBeUndefined();
      if (a.r.outcome !== 'skip') {
        expect(a.r.traceHash).toMatch(/^[0-9a-f]{16}$/);
        expect(a.steps.length).toBe(a.r.stats.events);
      }
      expect(b.steps).toEqual(a.steps);
      expect(fingerprint(b.r)).toEqual(fingerprint(a.r));
    });

    it.each(POLICIES)('under %s, a run given the recorded choices of a previous run reproduces it', (policy) => {
      const first = runScenario(load(file), { policy });
      const replay = runScenario(load(file), { policy, choices: first.choices });
      expect(fingerprint(replay)).toEqual(fingerprint(first));
    });

    it.each(POLICIES)('under %s, a schedule a random strategy picked replays from its recorded choices', (policy) => {
      const rng = new Prng(2018, `determinism:${file}:${policy}`);
      const explored = runScenario(load(file), { policy, chooser: (p) => rng.nextInt(p.candidates.length) });
      const replay = runScenario(load(file), { policy, choices: explored.choices });
      expect(replay.choices).toEqual(explored.choices);
      expect(fingerprint(replay)).toEqual(fingerprint(explored));
    });
  });
});

describe('a genuine tie', () => {
  /** Two processes share a page of f and both store to it at 10us: which store lands last is a choice. */
  const TIE = {
    name: 'two-stores-at-the-same-instant',
    kernel: { memory: '64M' },
    files: { f: { fs: 'ext4', size: '4K' } },
    actors: {
      a: [
        { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['shared'], as: 'abuf' },
        { op: 'store', addr: 'abuf', length: '4K', at: '10us', as: 'sa' },
        { op: 'load', addr: 'abuf', length: '4K', at: '30us', as: 'seen' },
      ],
      b: [
        { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['shared'], as: 'bbuf' },
        { op: 'store', addr: 'bbuf', length: '4K', at: '10us', as: 'sb' },
      ],
    },
  };

  it.each(POLICIES)('under %s, choices [1] runs b first: another trace and another winner than choices [0]', (policy) => {
    const r0 = runScenario(TIE, { policy, choices: [0] });
    const r1 = runScenario(TIE, { policy, choices: [1] });
    expect(r0.choices[0]).toBe(0);
    expect(r1.choices[0]).toBe(1);
    expect(r1.traceHash).not.toBe(r0.traceHash);
    // Default order: a's store, then b's, so a reads b's data; b first gives the opposite.
    expect(r0.observed['seen']).toBe('sb');
    expect(r1.observed['seen']).toBe('sa');
    expect(Object.keys(r1.ops)[0]).toBe('b.0');
    expect(Object.keys(r0.ops)[0]).toBe('a.0');
  });

  it.each(POLICIES)('under %s, each of the two schedules replays exactly from its recorded choices', (policy) => {
    for (const c of [[0], [1]]) {
      const first = runScenario(TIE, { policy, choices: c });
      const again = runScenario(TIE, { policy, choices: c });
      const replay = runScenario(TIE, { policy, choices: first.choices });
      expect(fingerprint(again)).toEqual(fingerprint(first));
      expect(fingerprint(replay)).toEqual(fingerprint(first));
    }
  });

  it('the default schedule is choices [0, 0, ...]: a run without choices equals a run with choices [0]', () => {
    const d = runScenario(TIE);
    expect(d.choices.length).toBeGreaterThan(0);
    expect(d.choices.every((c) => c === 0)).toBe(true);
    expect(runScenario(TIE, { choices: [0] }).traceHash).toBe(d.traceHash);
  });

  it('with timing jitter the seed is part of the replay: the same seed reproduces the trace, other seeds move it', () => {
    const run = (seed: number) => runScenario(TIE, { seed, jitter: 500 });
    expect(run(1).seed).toBe(1);
    expect(fingerprint(run(7))).toEqual(fingerprint(run(7)));
    const hashes = new Set([1, 2, 3, 4, 5].map((seed) => run(seed).traceHash));
    expect(hashes.size).toBeGreaterThan(1);
    expect(runScenario(TIE).traceHash).not.toBe(run(1).traceHash);
  });
});
