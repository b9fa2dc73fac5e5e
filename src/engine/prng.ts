/**
 * Seeded PRNG (xoshiro128**) and named streams split from one seed, so that a draw added in one
 * stream (timing jitter, fault injection, workload) never perturbs another.
 */

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) | 0;
  let z = state.x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = '') {
    this.a = this.b = this.c = this.d = 0;
    this.reseed(seed, stream);
  }

  /** reseed() - start again as `new Prng(@seed, @stream)` would (a machine reused by the next execution). */
  reseed(seed: number, stream = ''): void {
    const st = { x: (seed | 0) ^ fnv1a32(stream) ^ Math.imul((seed / 2 ** 32) | 0, 0x27d4eb2d) };
    this.a = splitmix32(st); this.b = splitmix32(st); this.c = splitmix32(st); this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** A uniform integer in [0, n). */
  nextInt(n: number): number {
    if (n <= 1) return 0;
    if (n <= 2 ** 32) return Math.floor((this.nextU32() / 2 ** 32) * n);
    return Math.floor(this.nextFloat() * n);
  }

  /** A uniform float in [0, 1) with 53 bits. */
  nextFloat(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Named streams from one seed: `streams.get('jitter')` is the same sequence in every run. */
export class PrngStreams {
  private readonly streams = new Map<string, Prng>();
  readonly seed: number;
  constructor(seed: number) {
    this.seed = seed;
  }
  get(name: string): Prng {
    let p = this.streams.get(name);
    if (!p) {
      p = new Prng(this.seed, name);
      this.streams.set(name, p);
    }
    return p;
  }
}
