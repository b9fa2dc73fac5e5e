/**
 * A small 53-bit hash accumulator for state fingerprints (two 32-bit lanes folded together).
 * Deterministic and allocation-free; not cryptographic.
 */
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

  addString(s: string): this {
    for (let i = 0; i < s.length; i++) this.add(s.charCodeAt(i));
    return this.add(s.length);
  }

  /** The hash as a safe integer. */
  get value(): number {
    return ((this.a >>> 0) % 2097152) * 4294967296 + (this.b >>> 0);
  }
}
