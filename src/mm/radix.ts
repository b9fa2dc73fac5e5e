/**
 * A sparse array of numbers indexed by page number, in 512-entry typed leaves (pinsim-only: it
 * plays the part of the xarray for the page cache and of the page-table levels for PTEs).
 * 0 means empty. Cost is per leaf touched, never per total size.
 *
 * A leaf starts as an Int32Array (4 bytes an entry: PTEs and page-cache slots of pfns below 2^28
 * fit) and becomes a Float64Array the first time a value that is not a 32-bit integer is stored
 * in it, so any number round-trips exactly.
 */
import { pairHash, SetDigest } from '../engine/hash.js';

const LEAF_SHIFT = 9;
const LEAF_SIZE = 1 << LEAF_SHIFT;
const LEAF_MASK = LEAF_SIZE - 1;

type Leaf = Int32Array | Float64Array;

/** What a scanIn() callback answers. */
const SCAN_NEXT = 0;
const SCAN_CLEAR = 1;
const SCAN_STOP = 2;

export class Radix {
  private readonly leaves = new Map<number, Leaf>();
  /** Number of non-zero entries. */
  count = 0;
  /**
   * The digest of the non-zero entries (index, value) as a set, kept at every write from the first
   * time it is asked for (the state fingerprint's); null until then, so that a run without one
   * pays a test per write.
   */
  private kept: SetDigest | null = null;
  /** Bumped when a leaf is replaced by its Float64Array form (a visit then re-reads it). */
  private widened = 0;
  /** The leaf last looked up, and its key (runs of indexes hit the same leaf). */
  private lastKey = -1;
  private lastLeaf: Leaf | undefined = undefined;
  /** The leaves' keys in increasing order, made again after a leaf is added (leaves go only at reset()). */
  private sorted: number[] | null = null;
  /** 32-bit leaves a reset() emptied, zeroed again when one is taken (not part of the contents). */
  private readonly spare: Int32Array[] = [];

  /**
   * reset() - empty, as new (a machine reused by the next execution); its 32-bit leaves are kept
   * for the next stores.
   */
  reset(): void {
    for (const leaf of this.leaves.values()) if (leaf instanceof Int32Array) this.spare.push(leaf);
    if (this.leaves.size) this.leaves.clear();
    this.count = 0;
    // The kept digest goes with the entries (kept again from the next fingerprint that asks).
    this.kept = null;
    this.widened = 0;
    this.lastKey = -1;
    this.lastLeaf = undefined;
    this.sorted = null;
  }

  private leafOf(k: number): Leaf | undefined {
    if (k !== this.lastKey) {
      this.lastKey = k;
      this.lastLeaf = this.leaves.get(k);
    }
    return this.lastLeaf;
  }

  private putLeaf(k: number, leaf: Leaf): void {
    if (!this.leaves.has(k)) this.sorted = null;
    this.leaves.set(k, leaf);
    this.lastKey = k;
    this.lastLeaf = leaf;
  }

  /** The digest of the entries, kept from now on. */
  get digest(): SetDigest {
    return (this.kept ??= this.digestFromScratch());
  }

  /** digestFromScratch() - the digest computed again from the entries (what `digest` must equal). */
  digestFromScratch(): SetDigest {
    const d = new SetDigest();
    this.forEachIn(0, Infinity, (i, v) => d.toggle(pairHash(i, v)));
    return d;
  }

  get(i: number): number {
    const leaf = this.leafOf(Math.floor(i / LEAF_SIZE));
    return leaf ? (leaf[i & LEAF_MASK] as number) : 0;
  }

  set(i: number, v: number): void {
    const k = Math.floor(i / LEAF_SIZE);
    let leaf = this.leafOf(k);
    if (!leaf) {
      if (v === 0) return;
      leaf = (v | 0) === v ? this.spare.pop()?.fill(0) ?? new Int32Array(LEAF_SIZE) : new Float64Array(LEAF_SIZE);
      this.putLeaf(k, leaf);
    } else if ((v | 0) !== v && leaf instanceof Int32Array) {
      leaf = Float64Array.from(leaf);
      this.putLeaf(k, leaf);
      this.widened++;
    }
    const j = i & LEAF_MASK;
    const old = leaf[j] as number;
    if (old === v) return;
    if (old === 0) this.count++;
    else {
      if (v === 0) this.count--;
      this.kept?.toggle(pairHash(i, old));
    }
    if (v !== 0) this.kept?.toggle(pairHash(i, v));
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
        for (let j = j0; j < j1; j++) {
          const old = leaf[j] as number;
          if (old === 0) continue;
          this.count--;
          this.kept?.toggle(pairHash(k * LEAF_SIZE + j, old));
        }
        leaf.fill(0, j0, j1);
      }
      i += j1 - j0;
    }
  }

  /**
   * leafKeysIn() - the keys (index / 512) of the leaves that exist and hold indexes of [first, last],
   * in increasing order: what a walk over a sparse range visits.
   */
  leafKeysIn(first: number, last: number): number[] {
    const out: number[] = [];
    this.eachLeafIn(first, last, (k) => {
      out.push(k);
      return true;
    });
    return out;
  }

  /**
   * eachLeafIn() - hand @fn the key of every leaf that exists and holds indexes of [first, last], in
   * increasing order, until it answers false: over a short range key by key, over a sparse one (to
   * the end of a file, a whole address space) through the leaves' sorted keys.
   */
  private eachLeafIn(first: number, last: number, fn: (k: number) => boolean): void {
    const k0 = Math.floor(first / LEAF_SIZE), k1 = Math.floor(last / LEAF_SIZE);
    if (k1 < k0 || this.leaves.size === 0) return;
    if (k1 - k0 + 1 <= this.leaves.size) {
      for (let k = k0; k <= k1; k++) if (this.leaves.has(k) && !fn(k)) return;
      return;
    }
    const keys = (this.sorted ??= [...this.leaves.keys()].sort((a, b) => a - b));
    let lo = 0, hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((keys[mid] as number) < k0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < keys.length && (keys[i] as number) <= k1; i++) if (!fn(keys[i] as number)) return;
  }

  /**
   * scanIn() - hand @fn every non-zero entry of [first, last], in increasing order; @fn answers
   * SCAN_NEXT, SCAN_CLEAR (zero the entry, then go on) or SCAN_STOP. Return: how many were zeroed.
   */
  private scanIn(first: number, last: number, fn: (i: number, v: number) => number): number {
    let n = 0;
    this.eachLeafIn(first, last, (k) => {
      const leaf = this.leaves.get(k) as Leaf;
      const base = k * LEAF_SIZE;
      const j0 = Math.max(first - base, 0), j1 = Math.min(last - base, LEAF_MASK);
      for (let j = j0; j <= j1; j++) {
        const v = leaf[j] as number;
        if (v === 0) continue;
        const r = fn(base + j, v);
        if (r === SCAN_CLEAR) {
          this.kept?.toggle(pairHash(base + j, leaf[j] as number));
          leaf[j] = 0;
          n++;
        } else if (r === SCAN_STOP) return false;
      }
      return true;
    });
    this.count -= n;
    return n;
  }

  /**
   * clearIn() - offer every non-zero entry of [first, last] to @take, in increasing order, and zero
   * those it takes. Return: how many were zeroed.
   */
  clearIn(first: number, last: number, take: (i: number, v: number) => boolean): number {
    return this.scanIn(first, last, (i, v) => (take(i, v) ? SCAN_CLEAR : SCAN_NEXT));
  }

  /**
   * collectIn() - the first @max non-zero entries of [first, last], in increasing order, into
   * @idx[0..n) and @val[0..n) (each room for @max). Return: n, how many.
   */
  collectIn(first: number, last: number, max: number, idx: Float64Array, val: Float64Array): number {
    if (this.count === 0) return 0;
    let n = 0;
    // Once every entry of the table has been met, the rest of the range holds none: stop there
    // (a truncate to 0 of a small file no longer reads the rest of its leaf, twice).
    const all = this.count;
    this.scanIn(first, last, (i, v) => {
      idx[n] = i;
      val[n++] = v;
      return n === max || n === all ? SCAN_STOP : SCAN_NEXT;
    });
    return n;
  }

  /** Visit the non-zero entries with index in [first, last], in increasing order. */
  forEachIn(first: number, last: number, fn: (i: number, v: number) => void): void {
    if (last < first || this.count === 0) return;
    // The keys first: the callback may add leaves (a new key list is made then, not this one).
    for (const k of this.leafKeysIn(first, last)) this.visitLeaf(k, first, last, fn);
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
