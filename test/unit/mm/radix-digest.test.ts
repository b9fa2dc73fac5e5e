/**
 * The Radix keeps the digest of its entries at every write (set, setRun, clearIn): equal to the one
 * computed from its entries after any sequence of writes, and the same for the same entries however
 * they were written.
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/engine/prng.js';
import { Radix } from '../../../src/mm/radix.js';

const kept = (r: Radix) => [r.digest.a, r.digest.b];
const fresh = (r: Radix) => {
  const d = r.digestFromScratch();
  return [d.a, d.b];
};

describe('Radix digest', () => {
  it('equals the digest computed from the entries after random writes of every kind', () => {
    const prng = new Prng(3, 'radix');
    const r = new Radix();
    for (let step = 0; step < 2000; step++) {
      const i = prng.nextInt(3000);
      const what = prng.nextInt(5);
      if (what === 0) r.set(i, prng.nextInt(100));
      else if (what === 1) r.set(i, 2 ** 40 + prng.nextInt(5)); // a wide value: the leaf becomes Float64
      else if (what === 2) r.setRun(i, 1 + prng.nextInt(600), 0, 0);
      else if (what === 3) r.setRun(i, 1 + prng.nextInt(20), 7, 1);
      else r.clearIn(i, i + prng.nextInt(700), (_j, v) => v % 2 === 0);
      if (step % 97 === 0) expect(kept(r)).toEqual(fresh(r));
    }
    expect(kept(r)).toEqual(fresh(r));
    expect(r.count).toBeGreaterThan(0);
    expect(kept(r)).not.toEqual([0, 0]);
  });

  it('is the same for the same entries written in another order, and empty when all are cleared', () => {
    const a = new Radix(), b = new Radix();
    a.set(1, 5);
    a.set(700, 6);
    a.set(2, 9);
    b.set(2, 1);
    b.set(700, 6);
    b.set(2, 9);
    b.set(1, 5);
    expect(kept(a)).toEqual(kept(b));
    b.set(2, 8);
    expect(kept(a)).not.toEqual(kept(b));
    a.clearIn(0, Infinity, () => true);
    expect(kept(a)).toEqual([0, 0]);
  });
});
