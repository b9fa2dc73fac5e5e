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

export class Hasher {
  private a = 0x811c9dc5;
  private b = 0x9747b28c;

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
