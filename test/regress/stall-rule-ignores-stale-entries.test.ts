/**
 * Regression (found by `npm run soak -- --reuse`, fuzz seed 927): the end-of-run rule for a run
 * whose scenario actors are all finished or blocked read the earliest queue entry, stale or not.
 * Whether a killed thread's stale entry was still queued depended on how an earlier exact tie was
 * picked (a strategy's pick drops the stale entries it meets, the default pick does not), so an
 * execution with a strategy and the replay of its choices ended at different times. Then, over
 * every example, conformance and regression scenario: a strategy that always takes the default
 * pick gives exactly what the run without one gives.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateOrThrow } from '../../src/scenario/format/validate.js';
import { defaultRegistry } from '../../src/scenario/registry.js';
import { runValidated } from '../../src/scenario/run/run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const registry = defaultRegistry();

function load(path: string) {
  return validateOrThrow(JSON.parse(readFileSync(path, 'utf8')), registry);
}

describe('the end of a run whose scenario actors are all finished or blocked', () => {
  const s = load(join(ROOT, 'test/regress/stall-rule-ignores-stale-entries.json'));

  it('comes when the next entry that is due is past the liveness bound, however the ties before were picked', () => {
    const replay = runValidated(s, { choices: [] });
    const picked = runValidated(s, { choices: [], chooser: () => 0 });
    expect(picked.choices).toEqual(replay.choices);
    expect(picked.traceHash).toBe(replay.traceHash);
    // a0's exit at 11,456 ns is the last step: kcompactd0's pass at 148 µs is past 110 µs of stall.
    expect(replay.stats.simTimeNs).toBe(11_456);
    expect(replay.results['a1.1']).toBe('not-run');
    expect(replay.results['kid8']).toBe('not-run');
  });
});

describe('a strategy that always takes the default pick', () => {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) {
        if (f !== 'pending') walk(p);
      } else if (f.endsWith('.json')) files.push(p);
    }
  };
  for (const d of ['examples', 'test/conformance', 'test/regress']) walk(join(ROOT, d));

  it('gives what the run without a strategy gives, for every scenario under its policy and linux-4.20', () => {
    const differ: string[] = [];
    let runs = 0;
    for (const f of files) {
      let sc;
      try {
        sc = load(f);
      } catch {
        continue; // not a scenario (a fixture of another kind)
      }
      for (const policy of new Set([sc.kernel.policy ?? 'linux-6.12', 'linux-4.20'])) {
        const a = runValidated(sc, { policy, registry, choices: [] });
        if (a.outcome === 'skip') continue;
        const b = runValidated(sc, { policy, registry, choices: [], chooser: () => 0 });
        runs++;
        if (a.traceHash !== b.traceHash || a.outcome !== b.outcome || JSON.stringify(a.results) !== JSON.stringify(b.results)) {
          differ.push(`${f.slice(ROOT.length)} under ${policy}`);
        }
      }
    }
    expect(runs).toBeGreaterThan(300);
    expect(differ).toEqual([]);
  });
});
