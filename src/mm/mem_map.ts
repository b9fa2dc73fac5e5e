/**
 * The frame table (mem_map): one row per physical frame in typed arrays indexed by pfn, grown on
 * demand up to the high-water pfn, never sized by kernel.memory. Columns: _refcount, _pincount (the exact number of
 * FOLL_PIN pins: the simulator's books, whatever the era's refcount arithmetic), _mapcount (PTEs
 * mapping it), flags, owner (the inode id, 0 for none), index, allocation generation, content token.
 */
import { PG_zero, ZERO_PFN } from './types.js';

/** Owner codes in `mapping`: > 0 is an inode id; these are the others. */
export const MAPPING_NONE = 0;
export const MAPPING_ANON = -1;

const INITIAL_FRAMES = 8;
/** Frames from which the table grows by a quarter instead of doubling. */
const GROW_LINEAR_FROM = 1 << 20;

export class MemMap {
  // The table starts with room for INITIAL_FRAMES rows (arrays small enough to live on the JS
  // heap: a scenario that uses few frames allocates no backing store).
  capacity = INITIAL_FRAMES;
  /** pfns below this have been allocated at least once. */
  highWater = 0;
  _refcount = new Int32Array(INITIAL_FRAMES);
  _pincount = new Int32Array(INITIAL_FRAMES);
  _mapcount = new Int32Array(INITIAL_FRAMES);
  flags = new Uint16Array(INITIAL_FRAMES);
  mapping = new Int32Array(INITIAL_FRAMES);
  index = new Float64Array(INITIAL_FRAMES);
  gen = new Uint32Array(INITIAL_FRAMES);
  content = new Int32Array(INITIAL_FRAMES);
  /** True while the frame is on the free list (or never allocated). */
  free = new Uint8Array(INITIAL_FRAMES).fill(1);

  // Reads of one column at @pfn. With noUncheckedIndexedAccess a typed-array read is `number |
  // undefined`; every pfn the model reads is below the capacity, so each column narrows here, once.

  /** The folio's reference count (folio_ref_count()). */
  refcount(pfn: number): number { return this._refcount[pfn] as number; }
  /** The exact number of FOLL_PIN pins on the folio (pinsim's books, whatever the era's arithmetic). */
  pincount(pfn: number): number { return this._pincount[pfn] as number; }
  /** How many PTEs map the folio. */
  mapcount(pfn: number): number { return this._mapcount[pfn] as number; }
  /** The folio's PG_* flags. */
  flagsOf(pfn: number): number { return this.flags[pfn] as number; }
  /** The owner code: an inode id (> 0), MAPPING_ANON or MAPPING_NONE. */
  mappingOf(pfn: number): number { return this.mapping[pfn] as number; }
  /** The folio's page index in its file (folio->index). */
  indexOf(pfn: number): number { return this.index[pfn] as number; }
  /** The frame's allocation generation. */
  genOf(pfn: number): number { return this.gen[pfn] as number; }
  /** The content token the frame holds. */
  contentOf(pfn: number): number { return this.content[pfn] as number; }

  constructor() {
    // The shared zero page: never freed, never counted (pins on it are no-ops, as is_zero_page() makes them).
    this.highWater = ZERO_PFN + 1;
    this.flags[ZERO_PFN] = PG_zero;
    this._refcount[ZERO_PFN] = 1;
    this.free[ZERO_PFN] = 0;
  }

  /**
   * Make room for pfn @n (exclusive): doubling while small, then by a quarter, so that a large
   * machine pays at most 25% of spare rows (a row is 35 bytes) rather than up to 100%.
   */
  grow(n: number): void {
    if (n <= this.capacity) return;
    let cap = this.capacity;
    while (cap < n) cap = cap < GROW_LINEAR_FROM ? cap * 2 : cap + Math.ceil(cap / 4 / 4096) * 4096;
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
