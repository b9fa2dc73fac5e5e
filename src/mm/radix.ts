/**
 * A sparse array of numbers indexed by page number, in 512-entry typed leaves (pinsim-only: it
 * plays the part of the xarray for the page cache and of the page-table levels for PTEs).
 * 0 means empty. Cost is per leaf touched, never per total size.
 */
const LEAF_SHIFT = 9;
const LEAF_SIZE = 1 << LEAF_SHIFT;
const LEAF_MASK = LEAF_SIZE - 1;

export class Radix {
  private readonly leaves = new Map<number, Float64Array>();
  /** Number of non-zero entries. */
  count = 0;

  get(i: number): number {
    const leaf = this.leaves.get(Math.floor(i / LEAF_SIZE));
    return leaf ? (leaf[i & LEAF_MASK] as number) : 0;
  }

  set(i: number, v: number): void {
    const k = Math.floor(i / LEAF_SIZE);
    let leaf = this.leaves.get(k);
    if (!leaf) {
      if (v === 0) return;
      leaf = new Float64Array(LEAF_SIZE);
      this.leaves.set(k, leaf);
    }
    const j = i & LEAF_MASK;
    const old = leaf[j] as number;
    if (old === 0 && v !== 0) this.count++;
    else if (old !== 0 && v === 0) this.count--;
    leaf[j] = v;
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
    const leaf = this.leaves.get(k);
    if (!leaf) return;
    const base = k * LEAF_SIZE;
    const j0 = Math.max(first - base, 0), j1 = Math.min(last - base, LEAF_MASK);
    for (let j = j0; j <= j1; j++) {
      const v = leaf[j] as number;
      if (v !== 0) fn(base + j, v);
    }
  }
}
