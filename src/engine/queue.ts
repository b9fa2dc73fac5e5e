/**
 * The event queue: a binary min-heap keyed (time, seq), as SimPy's (time, priority, eid), so that
 * ties run in a fixed order. Keys live in parallel number arrays (no per-entry objects).
 */
export class EventQueue<T> {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The time of the earliest entry; Infinity when empty. */
  peekTime(): number {
    return this.items.length ? (this.times[0] as number) : Infinity;
  }

  peekSeq(): number {
    return this.items.length ? (this.seqs[0] as number) : Infinity;
  }

  /** The earliest entry's item, or undefined. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(time: number, seq: number, item: T): void {
    const t = this.times, s = this.seqs, v = this.items;
    let i = v.length;
    t.push(time); s.push(seq); v.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = t[p] as number;
      if (pt < time || (pt === time && (s[p] as number) < seq)) break;
      t[i] = pt; s[i] = s[p] as number; v[i] = v[p] as T;
      i = p;
    }
    t[i] = time; s[i] = seq; v[i] = item;
  }

  /** Removes the earliest entry; the caller read its key with peekTime()/peekSeq() first. */
  pop(): T {
    const t = this.times, s = this.seqs, v = this.items;
    const top = v[0] as T;
    const lastT = t.pop() as number, lastS = s.pop() as number, lastV = v.pop() as T;
    const n = v.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n) {
        const rt = t[r] as number, lt = t[l] as number;
        if (rt < lt || (rt === lt && (s[r] as number) < (s[l] as number))) c = r;
      }
      const ct = t[c] as number;
      if (lastT < ct || (lastT === ct && lastS < (s[c] as number))) break;
      t[i] = ct; s[i] = s[c] as number; v[i] = v[c] as T;
      i = c;
    }
    t[i] = lastT; s[i] = lastS; v[i] = lastV;
    return top;
  }
}
