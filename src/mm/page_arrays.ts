/**
 * (pinsim-only) The per-page arrays of a range event, carved from one buffer: a truncate batch's
 * four columns or a zap's two cost one allocation, not one each (a typed array past a few dozen
 * bytes has a backing store of its own, which is what costs). Declare the columns first: 8-byte
 * ones, then 4-byte ones, then bytes, and carve them in that order.
 */
export class PageArrays {
  private readonly buf: ArrayBuffer;
  private readonly n: number;
  private off = 0;

  /** Room for @f64 8-byte columns, @w32 4-byte ones and @u8 byte ones of @n entries each. */
  constructor(n: number, f64: number, w32: number, u8: number) {
    this.n = n;
    this.buf = new ArrayBuffer(n * (8 * f64 + 4 * w32 + u8));
  }

  f64(fill = 0): Float64Array {
    const a = new Float64Array(this.buf, this.off, this.n);
    this.off += 8 * this.n;
    if (fill) a.fill(fill);
    return a;
  }

  i32(fill = 0): Int32Array {
    const a = new Int32Array(this.buf, this.off, this.n);
    this.off += 4 * this.n;
    if (fill) a.fill(fill);
    return a;
  }

  u32(): Uint32Array {
    const a = new Uint32Array(this.buf, this.off, this.n);
    this.off += 4 * this.n;
    return a;
  }

  u8(): Uint8Array {
    const a = new Uint8Array(this.buf, this.off, this.n);
    this.off += this.n;
    return a;
  }
}
