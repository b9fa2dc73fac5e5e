/**
 * `npm run bench` runs and prints issue 8's figures as one JSON object (scripts/bench.mjs, on the
 * built dist/). Only the shape is checked, at --quick sizes: no test asserts a wall-clock time or
 * whether a target is met (that is what the bench itself reports).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../../helpers/dist.js';

const BENCH = join(ROOT, 'scripts/bench.mjs');
const FIGURES = ['engineVsBareHeap', 'munmapSimVsReal', 'truncateSimVsReal', 'munmapThpSimVsReal', 'truncateLargeFolioSimVsReal', 'bytesPerPage', 'bytesPerPageWithDevices', 'schedulesPerSec', 'schedulesPerSecOdp', 'scaling'];
/** Every figure is the median of at least three samples, within the range they span. */
const MEDIANS = FIGURES;

interface Figure {
  name: string;
  value: number | null;
  range: [number, number] | null;
  samples: number;
  target: string;
  targetOp: '>=' | '<=';
  targetBound: number;
  met: boolean | null;
  skipped?: string;
  detail?: string;
}

function bench(...args: string[]): { status: number | null; json: { machine: Record<string, unknown>; quick: boolean; figures: Record<string, Figure>; summary: Record<'met' | 'missed' | 'skipped', string[]> }; stderr: string } {
  const r = spawnSync(process.execPath, [BENCH, '--json', '--quick', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, json: JSON.parse(r.stdout), stderr: r.stderr };
}

describe('npm run bench -- --json (shape only, --quick)', () => {
  beforeAll(() => ensureBuilt());

  it('prints one JSON object with every figure, its target and whether it is met', () => {
    const { status, json } = bench();
    expect(status).toBe(0);
    expect(json.quick).toBe(true);
    expect(json.machine).toMatchObject({ cpus: expect.any(Number), cpu: expect.any(String), node: process.version });
    expect(Object.keys(json.figures).sort()).toEqual([...FIGURES].sort());
    for (const name of FIGURES) {
      const f = json.figures[name] as Figure;
      expect(f.name).toBe(name);
      expect(f.target).toMatch(/^[≥≤] [\d.,]+$/);
      expect(['>=', '<=']).toContain(f.targetOp);
      if (f.met === null) expect(f.skipped).toEqual(expect.any(String));
      else {
        expect(Number.isFinite(f.value)).toBe(true);
        expect(f.met).toBe(f.targetOp === '>=' ? (f.value as number) >= f.targetBound : (f.value as number) <= f.targetBound);
        expect(f.detail).toEqual(expect.any(String));
        // Every measured figure carries the range of its samples.
        expect(f.samples).toBeGreaterThanOrEqual(1);
        const [lo, hi] = f.range as [number, number];
        expect(lo).toBeLessThanOrEqual(hi);
        if (MEDIANS.includes(name)) {
          expect(f.samples).toBeGreaterThanOrEqual(3);
          expect(f.value as number).toBeGreaterThanOrEqual(lo);
          expect(f.value as number).toBeLessThanOrEqual(hi);
        }
      }
    }
    const { met, missed, skipped } = json.summary;
    expect([...met, ...missed, ...skipped].sort()).toEqual([...FIGURES].sort());
    // A missed time target comes with a profile of its window, by function and by layer; the
    // engine's, the explorer's and the large folios' with the measured reason. (The bytes figures are sizes measured
    // in children: their detail says what the bytes are.)
    for (const name of missed.filter((n) => !n.startsWith('bytesPerPage'))) {
      const f = json.figures[name] as Figure & { profile?: { fn: string; pct: number }[]; profileByLayer?: Record<string, number>; reason?: string };
      expect(f.profile, name).toEqual(expect.any(Array));
      expect(f.profileByLayer, name).toEqual(expect.any(Object));
      if (['engineVsBareHeap', 'schedulesPerSec', 'schedulesPerSecOdp', 'munmapThpSimVsReal', 'truncateLargeFolioSimVsReal'].includes(name)) expect(f.reason, name).toMatch(/\d/);
    }
    // Without --profile a met figure runs no profiled window.
    for (const name of met) expect((json.figures[name] as Figure & { profile?: unknown }).profile, name).toBeUndefined();
    for (const name of ['schedulesPerSec', 'schedulesPerSecOdp']) {
      expect(json.figures[name]).toMatchObject({ random: expect.any(Number), pct: expect.any(Number), dfs: expect.any(Number), warmupBatches: expect.any(Number) });
    }
    expect(json.figures['schedulesPerSecOdp']).toMatchObject({ scenario: 'odp-fault-vs-truncate' });
  });

  it('engineVsBareHeap is the lower of its two workloads, each with its range', () => {
    const { json } = bench('--only', 'engineVsBareHeap');
    const f = json.figures['engineVsBareHeap'] as Figure & { workloads: Record<string, { median: number; range: [number, number]; actors: number; timeouts: number }> };
    const w = Object.values(f.workloads);
    expect(w).toHaveLength(2);
    expect(f.value).toBe(Math.min(...w.map((x) => x.median)));
    for (const x of w) expect(x.range[0]).toBeLessThanOrEqual(x.range[1]);
    expect(f.target).toBe('≥ 0.8');
    expect(f).toMatchObject({ directYieldVsBareHeap: expect.any(Number), generatorLoopVsBareHeap: expect.any(Number) });
  });

  it('the simulated-versus-real figures carry the model-only ratio with its own range, and the simulation\'s CPU time per run', () => {
    const { json } = bench('--only', 'munmapSimVsReal', '--real', 'python3');
    const f = json.figures['munmapSimVsReal'] as Figure & { modelOnlyVsReal?: number; modelOnlyRange?: [number, number]; simRuns?: number[]; realRuns?: number[] };
    if (f.met === null) return; // no python3 here: the skip is the previous test's
    expect(f.target).toBe('≤ 2.0');
    expect(f.simRuns).toHaveLength(f.samples);
    expect(f.realRuns).toHaveLength(f.samples);
    const [lo, hi] = f.modelOnlyRange!;
    expect(lo).toBeLessThanOrEqual(f.modelOnlyVsReal!);
    expect(f.modelOnlyVsReal!).toBeLessThanOrEqual(hi);
  });

  it('skips the real-kernel figures with a message, not a failure, when no tool can measure the kernel', () => {
    const real = ['munmapSimVsReal', 'munmapThpSimVsReal', 'truncateLargeFolioSimVsReal', 'truncateSimVsReal'];
    const { status, json } = bench('--only', real.join(','), '--real', 'none');
    expect(status).toBe(0);
    expect(Object.keys(json.figures).sort()).toEqual(real);
    for (const f of Object.values(json.figures)) {
      expect(f.met).toBeNull();
      expect(f.value).toBeNull();
      expect(f.skipped).toMatch(/no real-kernel measurement/);
    }
    expect(json.summary.skipped.sort()).toEqual(real);
  });
});
