import { describe, expect, it } from 'vitest';
import { Prng, PrngStreams } from '../../../src/engine/prng.js';

const draws = (p: Prng, n: number) => Array.from({ length: n }, () => p.nextU32());

describe('Prng (xoshiro128**)', () => {
  it('gives the same sequence for the same (seed, stream): a run replays', () => {
    expect(draws(new Prng(1, 'jitter'), 50)).toEqual(draws(new Prng(1, 'jitter'), 50));
    expect(draws(new Prng(0), 10)).toEqual(draws(new Prng(0, ''), 10));
  });

  it('gives different sequences for different seeds and different stream names', () => {
    const base = draws(new Prng(1, 'jitter'), 8);
    expect(draws(new Prng(2, 'jitter'), 8)).not.toEqual(base);
    expect(draws(new Prng(1, 'faults'), 8)).not.toEqual(base);
    expect(draws(new Prng(1, 'device:nic0'), 8)).not.toEqual(draws(new Prng(1, 'device:nic1'), 8));
  });

  it('uses the high bits of seeds beyond 2^32', () => {
    expect(draws(new Prng(1 + 2 ** 32), 8)).not.toEqual(draws(new Prng(1), 8));
  });

  it('nextU32 returns unsigned 32-bit integers', () => {
    for (const x of draws(new Prng(3, 's'), 1000)) {
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(2 ** 32);
    }
  });

  it('nextInt(n) stays in [0, n), reaches every value, and is roughly uniform', () => {
    const p = new Prng(9, 'range');
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const x = p.nextInt(10);
      expect(Number.isInteger(x) && x >= 0 && x < 10).toBe(true);
      counts[x] = (counts[x] as number) + 1;
    }
    for (const c of counts) {
      expect(c).toBeGreaterThan(1600);
      expect(c).toBeLessThan(2400);
    }
  });

  it('nextInt of 0 or 1 is 0, and nextInt above 2^32 stays in range', () => {
    const p = new Prng(5);
    expect(p.nextInt(1)).toBe(0);
    expect(p.nextInt(0)).toBe(0);
    const big = 2 ** 40;
    let sawHigh = false;
    for (let i = 0; i < 200; i++) {
      const x = p.nextInt(big);
      expect(Number.isInteger(x) && x >= 0 && x < big).toBe(true);
      if (x >= 2 ** 32) sawHigh = true;
    }
    expect(sawHigh).toBe(true);
  });

  it('nextFloat is in [0, 1)', () => {
    const p = new Prng(11, 'f');
    for (let i = 0; i < 1000; i++) {
      const x = p.nextFloat();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });
});

describe('PrngStreams (named streams split from one seed)', () => {
  it('a stream is the Prng of (seed, name), and get() continues the same stream', () => {
    const s = new PrngStreams(17);
    expect(s.seed).toBe(17);
    expect(s.get('jitter')).toBe(s.get('jitter'));
    const a = draws(s.get('jitter'), 3).concat(draws(s.get('jitter'), 3));
    expect(a).toEqual(draws(new Prng(17, 'jitter'), 6));
  });

  it('drawing from one stream (fault injection) does not change another (timing jitter)', () => {
    const quiet = new PrngStreams(23);
    const jitterAlone = draws(quiet.get('jitter'), 20);

    const busy = new PrngStreams(23);
    const jitterInterleaved: number[] = [];
    for (let i = 0; i < 20; i++) {
      draws(busy.get('faults'), i % 4);
      busy.get('workload').nextFloat();
      jitterInterleaved.push(busy.get('jitter').nextU32());
    }
    expect(jitterInterleaved).toEqual(jitterAlone);
  });
});
