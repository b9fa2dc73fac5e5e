/**
 * A sparse array of numbers indexed by page number, in 512-entry typed leaves (pinsim-only: it
 * plays the part of the xarray for the page cache and of the page-table levels for PTEs).
 * 0 means empty. Cost is per leaf touched, never per total size.
 *
 * A leaf starts as an Int32Array (4 bytes an entry: PTEs and page-cache slots of pfns below 2^28
 * fit) and becomes a Float64Array the first time a value that is not a 32-bit integer is stored
 * in it, so any number round-trips exactly.
 */
const LEAF_SHIFT = 9;
const LEAF_SIZE = 1 << LEAF_SHIFT;
const LEAF_MASK = LEAF_SIZE - 1;

type Leaf = Int32Array | Float64Array;

export class Radix {
  private readonly leaves = new Map<number, Leaf>();
  /** Number of non-zero entries. */
  count = 0;
  /** Bumped when a leaf is replaced by its Float64Array form (a visit then re-reads it). */
  private widened = 0;

  get(i: number): number {
    const leaf = this.leaves.get(Math.floor(i / LEAF_SIZE));
    return leaf ? (leaf[i & LEAF_MASK] as number) : 0;
  }

  set(i: number, v: number): void {
    const k = Math.floor(i / LEAF_SIZE);
    let leaf = this.leaves.get(k);
    if (!leaf) {
      if (v === 0) return;
      leaf = (v | 0) === v ? new Int32Array(LEAF_SIZE) : new Float64Array(LEAF_SIZE);
      this.leaves.set(k, leaf);
    } else if ((v | 0) !== v && leaf instanceof Int32Array) {
      leaf = Float64Array.from(leaf);
      this.leaves.set(k, leaf);
      this.widened++;
    }
    const j = i & LEAF_MASK;
    const old = leaf[j] as number;
    if (old === 0 && v !== 0) this.count++;
    else if (old !== 0 && v === 0) this.count--;
    leaf[j] = v;
  }

  /**
   * setRun() - store @v0, @v0 + @step, @v0 + 2·@step, … at the @n indexes from @first (all zero when
   * @v0 and @step are 0): one huge page's entries, leaf by leaf.
   */
  setRun(first: number, n: number, v0: number, step: number): void {
    if (v0 !== 0 || step !== 0) {
      for (let i = 0; i < n; i++) this.set(first + i, v0 + i * step);
      return;
    }
    // Clearing: leaf by leaf, counting what goes.
    for (let i = first; i < first + n;) {
      const k = Math.floor(i / LEAF_SIZE);
      const j0 = i & LEAF_MASK, j1 = Math.min(LEAF_SIZE, j0 + first + n - i);
      const leaf = this.leaves.get(k);
      if (leaf) {
        for (let j = j0; j < j1; j++) if (leaf[j] !== 0) this.count--;
        leaf.fill(0, j0, j1);
      }
      i += j1 - j0;
    }
  }

  /** Visit the non-zero entries with index in [first, last], in increasing order. */
  forEachIn(first: number, last: number, fn: (i: number, v: number) => void): void {
    if (last < first || this.count === 0) return;
    const k0 = Math.floor(first / LEAF_SIZE), k1 = Math.floor(last / LEAF_SIZE);
    if (k1 - k0 > this.leaves.size) {
      // Sparse: walk the leaves that exist, in order.
      const ks = [...this.leaves.keys()].filter((k) => k >= k0 && k <= k1).sort((a, b) => a - b);
      for (const k of ks) this.visitLeaf(k, first, last, fn);
      return;
    }
    for (let k = k0; k <= k1; k++) this.visitLeaf(k, first, last, fn);
  }

  private visitLeaf(k: number, first: number, last: number, fn: (i: number, v: number) => void): void {
    let leaf = this.leaves.get(k);
    if (!leaf) return;
    const base = k * LEAF_SIZE;
    const j0 = Math.max(first - base, 0), j1 = Math.min(last - base, LEAF_MASK);
    const widened = this.widened;
    for (let j = j0; j <= j1; j++) {
      const v = leaf[j] as number;
      if (v === 0) continue;
      fn(base + j, v);
      // The callback may have stored a wide value in this leaf: keep reading the current one.
      if (this.widened !== widened) leaf = this.leaves.get(k) as Leaf;
    }
  }

  /**
   * forEachRun() - forEachIn() whose callback returns how many entries it dealt with (≥ 1): the
   * n - 1 after this one (a large folio's) are not visited.
   */
  forEachRun(first: number, last: number, fn: (i: number, v: number) => number): void {
    if (last < first || this.count === 0) return;
    const k0 = Math.floor(first / LEAF_SIZE), k1 = Math.floor(last / LEAF_SIZE);
    let from = first;
    if (k1 - k0 > this.leaves.size) {
      // Sparse: walk the leaves that exist, in order.
      const ks = [...this.leaves.keys()].filter((k) => k >= k0 && k <= k1).sort((a, b) => a - b);
      for (const k of ks) from = this.visitLeafRun(k, from, last, fn);
      return;
    }
    for (let k = k0; k <= k1; k++) from = this.visitLeafRun(k, from, last, fn);
  }

  /** forEachRun()'s visit of leaf @k's entries in [@first, @last]. Return: the index the walk resumes from. */
  private visitLeafRun(k: number, first: number, last: number, fn: (i: number, v: number) => number): number {
    let leaf = this.leaves.get(k);
    if (!leaf) return first;
    const base = k * LEAF_SIZE;
    const j0 = Math.max(first - base, 0), j1 = Math.min(last - base, LEAF_MASK);
    const widened = this.widened;
    let j = j0;
    for (; j <= j1; j++) {
      const v = leaf[j] as number;
      if (v === 0) continue;
      const n = fn(base + j, v);
      if (n > 1) j += n - 1;
      // The callback may have stored a wide value in this leaf: keep reading the current one.
      if (this.widened !== widened) leaf = this.leaves.get(k) as Leaf;
    }
    return Math.max(first, base + j);
  }
}
