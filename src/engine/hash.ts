/**
 * A small 53-bit hash accumulator for state fingerprints (two 32-bit lanes folded together).
 * Deterministic and allocation-free; not cryptographic.
 */
/**
 * A 53-bit hash of each string added to a fingerprint, shared by every Hasher: a state fingerprint
 * adds the same names (sites, wait queues, actors) at every choice point. Emptied at STR_MAX strings.
 */
const strHash = new Map<string, number>();
const STR_MAX = 1 << 16;

function stringHash(s: string): number {
  let v = strHash.get(s);
  if (v === undefined) {
    const h = new Hasher();
    for (let i = 0; i < s.length; i++) h.add(s.charCodeAt(i));
    v = h.add(s.length).value;
    if (strHash.size >= STR_MAX) strHash.clear();
    strHash.set(s, v);
  }
  return v;
}

const A0 = 0x811c9dc5;
const B0 = 0x9747b28c;

export class Hasher {
  private a = A0;
  private b = B0;

  /** Start again from the empty hash (one Hasher reused for many items: no allocation). */
  reset(): this {
    this.a = A0;
    this.b = B0;
    return this;
  }

  /** The two 32-bit lanes, for a SetDigest. */
  get laneA(): number { return this.a; }
  get laneB(): number { return this.b; }

  add(v: number): this {
    const lo = v | 0;
    const hi = Number.isInteger(v) ? Math.floor(v / 4294967296) | 0 : Math.floor(v * 1e6) | 0;
    this.a = Math.imul(this.a ^ lo, 0x01000193);
    this.a = Math.imul(this.a ^ hi, 0x01000193);
    this.b = Math.imul(this.b ^ lo, 0x5bd1e995);
    this.b ^= this.b >>> 15;
    this.b = Math.imul(this.b ^ hi, 0x27d4eb2d) ^ this.a;
    return this;
  }

  /** Add @s as one number: its own 53-bit hash (computed once per string). */
  addString(s: string): this {
    return this.add(stringHash(s));
  }

  /** The hash as a safe integer. */
  get value(): number {
    return ((this.a >>> 0) % 2097152) * 4294967296 + (this.b >>> 0);
  }
}

/** Murmur3's 32-bit finaliser: every input bit reaches every output bit before lanes are XORed. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * An order-free digest of a set of items: the XOR, lane by lane, of each item's (finalised) hash.
 * Toggling an item in twice takes it out again, so a books-keeper replaces an item by toggling its
 * old hash and then its new one; the digest of a set is the same however it was reached.
 */
export class SetDigest {
  a = 0;
  b = 0;

  /** Toggle the item hashed in @h. */
  toggle(h: Hasher): void {
    this.a ^= fmix32(h.laneA);
    this.b ^= fmix32(h.laneB ^ 0x5bd1e995);
  }

  /** Toggle an item whose lanes were kept (see lanesA/lanesB of a books-keeper). */
  toggleLanes(a: number, b: number): void {
    this.a ^= a;
    this.b ^= b;
  }

  /** The finalised lanes of the item hashed in @h (what toggle() XORs in). */
  static itemA(h: Hasher): number { return fmix32(h.laneA); }
  static itemB(h: Hasher): number { return fmix32(h.laneB ^ 0x5bd1e995); }

  reset(): void {
    this.a = 0;
    this.b = 0;
  }

  /** Add the digest to @h (two numbers). */
  addTo(h: Hasher): void {
    h.add(this.a).add(this.b);
  }
}

/**
 * A Map of numbers to numbers that keeps a SetDigest of its (key, value) pairs as it changes, from
 * the first time the digest is asked for: its state fingerprint then costs nothing however large
 * it grows. Every write goes through set(), delete() or clear().
 */
export class DigestMap extends Map<number, number> {
  private kept: SetDigest | null = null;

  /** The digest of the entries, kept from now on. */
  get digest(): SetDigest {
    return (this.kept ??= this.digestFromScratch());
  }

  override set(key: number, value: number): this {
    const old = super.get(key);
    const d = this.kept;
    if (d && old !== value) {
      if (old !== undefined) d.toggle(pairHash(key, old));
      d.toggle(pairHash(key, value));
    }
    return super.set(key, value);
  }

  override delete(key: number): boolean {
    const old = super.get(key);
    if (old !== undefined) this.kept?.toggle(pairHash(key, old));
    return super.delete(key);
  }

  override clear(): void {
    this.kept?.reset();
    super.clear();
  }

  /** The digest computed again from the entries (the reference its running value must equal). */
  digestFromScratch(): SetDigest {
    const d = new SetDigest();
    for (const [key, value] of this) d.toggle(pairHash(key, value));
    return d;
  }
}

const pairScratch = new Hasher();
/** The hash of the item (@x, @y) in a reused Hasher: read it before the next call. */
export function pairHash(x: number, y: number): Hasher {
  return pairScratch.reset().add(x).add(y);
}
