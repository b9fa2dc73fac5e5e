/**
 * The event queue: a binary min-heap keyed (time, seq), as SimPy's (time, priority, eid), so that
 * ties run in a fixed order. Keys and payloads live in parallel typed arrays (no per-entry objects).
 */
/**
 * The scheduler's queue, with an integer payload (an actor id), so that a push or pop moves no
 * object references. An entry is stale when its seq is no longer
 * its actor's pending seq (`pending[id]`); validTop() drops stale entries from the top.
 */
export class IdQueue {
  private times = new Float64Array(8);
  private seqs = new Float64Array(8);
  private ids = new Int32Array(8);
  private n = 0;

  /**
   * reset() - empty, keeping its room (a machine reused by the next execution). The rows the heap
   * used are zeroed, so that a reset queue is a new one with more room.
   */
  reset(): void {
    this.times.fill(0);
    this.seqs.fill(0);
    this.ids.fill(0);
    this.n = 0;
  }

  get size(): number {
    return this.n;
  }

  /** The time of the earliest entry, stale or not; Infinity when empty. */
  peekTime(): number {
    return this.n ? (this.times[0] as number) : Infinity;
  }

  /**
   * validTop() - drop stale entries from the top; Return: the earliest valid entry's time, or
   * Infinity when none is left. @pending holds each id's one valid seq (-1 for none).
   */
  validTop(pending: Float64Array): number {
    while (this.n && this.seqs[0] !== pending[this.ids[0] as number]) this.pop();
    return this.n ? (this.times[0] as number) : Infinity;
  }

  push(time: number, seq: number, id: number): void {
    let i = this.n++;
    if (i === this.times.length) this.grow();
    const t = this.times, s = this.seqs, v = this.ids;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = t[p] as number;
      if (pt < time || (pt === time && (s[p] as number) < seq)) break;
      t[i] = pt; s[i] = s[p] as number; v[i] = v[p] as number;
      i = p;
    }
    t[i] = time; s[i] = seq; v[i] = id;
  }

  /** The id of the earliest entry, stale or not (the queue must not be empty). */
  topId(): number {
    return this.ids[0] as number;
  }

  /**
   * The earliest time among the entries after the top, stale or not; Infinity when there are none.
   * In a heap the runner-up is one of the top's two children.
   */
  nextTime(): number {
    const n = this.n, t = this.times;
    if (n < 2) return Infinity;
    const l = t[1] as number;
    if (n === 2) return l;
    const r = t[2] as number;
    return r < l ? r : l;
  }

  /** Removes the earliest entry; Return: its id (read its time with peekTime() first). */
  pop(): number {
    const top = this.ids[0] as number;
    const n = --this.n;
    if (n <= 0) {
      this.n = 0;
      return top;
    }
    this.siftDown(this.times[n] as number, this.seqs[n] as number, this.ids[n] as number);
    return top;
  }

  /**
   * replaceTop() - pop() then push(@time, @seq, @id) in one pass down the heap: how an actor that
   * ran from the top files its next entry. The queue must not be empty.
   */
  replaceTop(time: number, seq: number, id: number): void {
    this.siftDown(time, seq, id);
  }

  /** Put (@time, @seq, @id) at the root's place and move it down to where it belongs. */
  private siftDown(time: number, seq: number, id: number): void {
    const t = this.times, s = this.seqs, v = this.ids, n = this.n;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let ct = t[l] as number;
      if (r < n) {
        const rt = t[r] as number;
        if (rt < ct || (rt === ct && (s[r] as number) < (s[l] as number))) { c = r; ct = rt; }
      }
      if (time < ct || (time === ct && seq < (s[c] as number))) break;
      t[i] = ct; s[i] = s[c] as number; v[i] = v[c] as number;
      i = c;
    }
    t[i] = time; s[i] = seq; v[i] = id;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const t = new Float64Array(cap), s = new Float64Array(cap), v = new Int32Array(cap);
    t.set(this.times);
    s.set(this.seqs);
    v.set(this.ids);
    this.times = t;
    this.seqs = s;
    this.ids = v;
  }
}
