import { describe, expect, it } from 'vitest';
import { anySetBit, firstSetBit, forEachSetBit, lastSetBit, leafKeysIn, rangeMask } from '../../../src/engine/bits.js';

describe('bits: leaf keys of a range and set bits of a bitmap', () => {
  it('leafKeysIn() lists the keys in [k0, k1] in order, densely or from the map when the range is larger than it', () => {
    const m = new Map<number, null>([[9, null], [2, null], [5, null], [2 ** 30, null]]);
    expect(leafKeysIn(m, 0, 10)).toEqual([2, 5, 9]);
    expect(leafKeysIn(m, 3, 2 ** 31)).toEqual([5, 9, 2 ** 30]);
    expect(leafKeysIn(m, 6, 8)).toEqual([]);
    expect(leafKeysIn(new Map(), 0, 10)).toEqual([]);
  });

  it('forEachSetBit() hands out the set bits of [j0, j1] lowest first, across words, and nothing outside', () => {
    const w = new Uint32Array(3);
    for (const j of [0, 1, 31, 32, 63, 64, 95]) w[j >>> 5] = ((w[j >>> 5] as number) | (1 << (j & 31))) >>> 0;
    const got = (a: number, b: number) => { const out: number[] = []; forEachSetBit(w, a, b, (j) => out.push(j)); return out; };
    expect(got(0, 95)).toEqual([0, 1, 31, 32, 63, 64, 95]);
    expect(got(1, 63)).toEqual([1, 31, 32, 63]);
    expect(got(2, 30)).toEqual([]);
    expect(got(95, 95)).toEqual([95]);
    expect(anySetBit(w, 2, 30)).toBe(false);
    expect(anySetBit(w, 2, 31)).toBe(true);
    expect([firstSetBit(w, 2, 95), lastSetBit(w, 0, 94), firstSetBit(w, 2, 30), lastSetBit(w, 65, 94)]).toEqual([31, 64, -1, -1]);
    expect([rangeMask(0, 4, 40) >>> 0, rangeMask(1, 4, 40) >>> 0, rangeMask(1, 0, 95) >>> 0]).toEqual([0xfffffff0, 0x1ff, 0xffffffff]);
  });
});
