/**
 * The frame table (mem_map): one row per physical frame in typed arrays indexed by pfn, grown on
 * demand up to the high-water pfn (DESIGN §4). Columns: _refcount, _pincount (the exact number of
 * FOLL_PIN pins: the simulator's books, whatever the era's refcount arithmetic), _mapcount (PTEs
 * mapping it), flags, owner (the inode id, 0 for none), index, allocation generation, content token.
 */
import { PG_zero, ZERO_PFN } from './types.js';

/** Owner codes in `mapping`: > 0 is an inode id; these are the others. */
export const MAPPING_NONE = 0;
export const MAPPING_ANON = -1;

export class MemMap {
  capacity = 0;
  /** pfns below this have been allocated at least once. */
  highWater = 0;
  _refcount = new Int32Array(0);
  _pincount = new Int32Array(0);
  _mapcount = new Int32Array(0);
  flags = new Uint16Array(0);
  mapping = new Int32Array(0);
  index = new Float64Array(0);
  gen = new Uint32Array(0);
  content = new Int32Array(0);
  /** True while the frame is on the free list (or never allocated). */
  free = new Uint8Array(0);

  constructor() {
    this.grow(64);
    // The shared zero page: never freed, never counted (pins on it are no-ops, kernel-semantics §1.1).
    this.highWater = ZERO_PFN + 1;
    this.flags[ZERO_PFN] = PG_zero;
    this._refcount[ZERO_PFN] = 1;
    this.free[ZERO_PFN] = 0;
  }

  /** Make room for pfn @n (exclusive). */
  grow(n: number): void {
    if (n <= this.capacity) return;
    let cap = Math.max(this.capacity * 2, 64);
    while (cap < n) cap *= 2;
    const g = <A extends Int32Array | Uint16Array | Float64Array | Uint32Array | Uint8Array>(a: A, fill = 0): A => {
      const b = new (a.constructor as new (n: number) => A)(cap);
      b.set(a);
      if (fill) b.fill(fill, this.capacity);
      return b;
    };
    this._refcount = g(this._refcount);
    this._pincount = g(this._pincount);
    this._mapcount = g(this._mapcount);
    this.flags = g(this.flags);
    this.mapping = g(this.mapping);
    this.index = g(this.index);
    this.gen = g(this.gen);
    this.content = g(this.content);
    this.free = g(this.free, 1);
    this.capacity = cap;
  }
}
