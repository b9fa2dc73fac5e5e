/**
 * Radix.collectIn(): the first entries of a range in increasing order, at most @max of them; it may
 * stop once it has met every entry of the table, never before (entries before the range count in
 * the table, not in what it collects).
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/engine/prng.js';
import { Radix } from '../../../src/mm/radix.js';

function collect(r: Radix, first: number, last: number, max: number): [number, number][] {
  const idx = new Float64Array(max), val = new Float64Array(max);
  const n = r.collectIn(first, last, max, idx, val);
  return Array.from({ length: n }, (_, i) => [idx[i] as number, val[i] as number]);
}

describe('Radix.collectIn', () => {
  it('collects across leaves, up to max, and finds the entries past those before the range', () => {
    const r = new Radix();
    for (const [i, v] of [[1, 11], [5, 15], [600, 16], [5000, 17]] as const) r.set(i, v);
    expect(collect(r, 0, Infinity, 8)).toEqual([[1, 11], [5, 15], [600, 16], [5000, 17]]);
    expect(collect(r, 2, Infinity, 8)).toEqual([[5, 15], [600, 16], [5000, 17]]);
    expect(collect(r, 2, 4999, 8)).toEqual([[5, 15], [600, 16]]);
    expect(collect(r, 0, Infinity, 2)).toEqual([[1, 11], [5, 15]]);
    r.clearIn(0, Infinity, () => true);
    expect(collect(r, 0, Infinity, 8)).toEqual([]);
  });

  it('agrees with a walk of every entry after random writes', () => {
    const prng = new Prng(5, 'collect');
    const r = new Radix();
    const model = new Map<number, number>();
    for (let step = 0; step < 3000; step++) {
      const i = prng.nextInt(2500), v = prng.nextInt(4);
      r.set(i, v);
      if (v) model.set(i, v);
      else model.delete(i);
      if (step % 50 !== 0) continue;
      const first = prng.nextInt(2500), last = first + prng.nextInt(1500), max = 1 + prng.nextInt(40);
      const want = [...model].filter(([k]) => k >= first && k <= last).sort((a, b) => a[0] - b[0]).slice(0, max);
      expect(collect(r, first, last, max)).toEqual(want);
    }
  });
});
