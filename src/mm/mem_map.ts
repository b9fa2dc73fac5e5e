/**
 * The frame table (mem_map): one row per physical frame in typed arrays indexed by pfn, grown on
 * demand up to the high-water pfn, never sized by kernel.memory. Columns: _refcount, _pincount (the exact number of
 * FOLL_PIN pins: the simulator's books, whatever the era's refcount arithmetic), _mapcount (PTEs
 * mapping the page), flags, owner (the inode id, 0 for none), index, allocation generation, content token.
 *
 * Folios of every order: a frame belongs to a folio of order 0 to 18, naturally aligned in pfn
 * space (the allocator hands out aligned blocks), so its head is its pfn rounded down to the
 * folio's size. The order is kept per frame in the top bits of `flags` (FOLIO_ORDER_SHIFT), every
 * page of the folio carrying it, which costs no byte per frame. Per folio, at the head: _refcount,
 * _pincount, the PG_* bits, and the entire mapcount (mappings of the folio as a whole, by a PMD or
 * PUD: `entire_mapcount`, kept sparse since large folios are few). Per page, on every frame: the
 * page's own mapcount (PTE mappings of that page), owner and index (a tail page's index is its
 * head's plus its offset), generation and content.
 * Kernel: include/linux/mm_types.h struct folio (_entire_mapcount, _pincount in the first tail
 * page), include/linux/mm.h compound_head(), folio_order(), folio_nr_pages().
 */
import { DigestMap } from '../engine/hash.js';
import { PG_zero, ZERO_PFN } from './types.js';

/** Where a frame's folio order sits in its 16-bit `flags`: the 6 bits above every PG_* bit. */
export const FOLIO_ORDER_SHIFT = 10;
/** The PG_* bits of `flags`, without the order. */
export const PG_FLAGS_MASK = (1 << FOLIO_ORDER_SHIFT) - 1;
/** The largest folio order: 1 GiB of 4 KiB pages (a PUD-sized hugetlb page). */
export const MAX_FOLIO_ORDER = 18;

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
  /** True while the frame is on the free list (or never allocated), or a free page of the hugetlb pool. */
  free = new Uint8Array(INITIAL_FRAMES).fill(1);
  /** Head pfn → mappings of the large folio as a whole (PMD/PUD entries); absent: none. */
  readonly entire_mapcount = new DigestMap();

  // Reads of one column at @pfn. With noUncheckedIndexedAccess a typed-array read is `number |
  // undefined`; every pfn the model reads is below the capacity, so each column narrows here, once.

  /** The folio's reference count (folio_ref_count()). */
  refcount(pfn: number): number { return this._refcount[pfn] as number; }
  /** The exact number of FOLL_PIN pins on the folio (pinsim's books, whatever the era's arithmetic). */
  pincount(pfn: number): number { return this._pincount[pfn] as number; }
  /** How many PTEs map the folio. */
  mapcount(pfn: number): number { return this._mapcount[pfn] as number; }
  /** The folio's PG_* flags (with its order in the bits from FOLIO_ORDER_SHIFT; 0 there for order 0). */
  flagsOf(pfn: number): number { return this.flags[pfn] as number; }
  /** The owner code: an inode id (> 0), MAPPING_ANON or MAPPING_NONE. */
  mappingOf(pfn: number): number { return this.mapping[pfn] as number; }
  /** The folio's page index in its file (folio->index). */
  indexOf(pfn: number): number { return this.index[pfn] as number; }
  /** The frame's allocation generation. */
  genOf(pfn: number): number { return this.gen[pfn] as number; }
  /** The content token the frame holds. */
  contentOf(pfn: number): number { return this.content[pfn] as number; }

  /** folio_order() - the order of the folio @pfn belongs to (0 for a 4 KiB folio). */
  folio_order(pfn: number): number { return (this.flags[pfn] as number) >>> FOLIO_ORDER_SHIFT; }
  /** compound_head() - the head pfn of the folio @pfn belongs to. */
  folio_head(pfn: number): number {
    const order = (this.flags[pfn] as number) >>> FOLIO_ORDER_SHIFT;
    return order === 0 ? pfn : pfn - (pfn & ((1 << order) - 1));
  }
  /** folio_nr_pages() - the number of pages of @pfn's folio. */
  folio_nr_pages(pfn: number): number { return 2 ** ((this.flags[pfn] as number) >>> FOLIO_ORDER_SHIFT); }
  /** folio_entire_mapcount() - how many PMD/PUD entries map the folio headed by @head as a whole. */
  folio_entire_mapcount(head: number): number { return this.entire_mapcount.get(head) ?? 0; }
  /**
   * folio_mapcount() - the mappings of @head's folio: its entire mappings plus every page's own
   * (for an order-0 folio, its page's mapcount). Kernel: include/linux/mm.h folio_mapcount().
   */
  folio_mapcount(head: number): number {
    const order = this.folio_order(head);
    if (order === 0) return this._mapcount[head] as number;
    let n = this.folio_entire_mapcount(head);
    const end = head + 2 ** order;
    for (let p = head; p < end; p++) n += this._mapcount[p] as number;
    return n;
  }

  /**
   * folio_new_generation() - (pinsim-only) the @nr frames from @head start a new allocation
   * generation together, one past the highest any of them had: a large folio has one generation.
   */
  folio_new_generation(head: number, nr: number): void {
    let gen = 0;
    for (let p = head; p < head + nr; p++) gen = Math.max(gen, this.gen[p] as number);
    this.gen.fill(gen + 1, head, head + nr);
  }

  constructor() {
    this.zero_page();
  }

  /** The shared zero page: never freed, never counted (pins on it are no-ops, as is_zero_page() makes them). */
  private zero_page(): void {
    this.highWater = ZERO_PFN + 1;
    this.flags[ZERO_PFN] = PG_zero;
    this._refcount[ZERO_PFN] = 1;
    this.free[ZERO_PFN] = 0;
  }

  /**
   * reset() - the table as new, keeping its room (a machine reused by the next execution): the rows
   * below the high-water mark are refilled with their defaults (the rows above it were never
   * handed out, so they hold them still).
   */
  reset(): void {
    const n = this.highWater;
    this._refcount.fill(0, 0, n);
    this._pincount.fill(0, 0, n);
    this._mapcount.fill(0, 0, n);
    this.flags.fill(0, 0, n);
    this.mapping.fill(0, 0, n);
    this.index.fill(0, 0, n);
    this.gen.fill(0, 0, n);
    this.content.fill(0, 0, n);
    this.free.fill(1, 0, n);
    if (this.entire_mapcount.size) this.entire_mapcount.clear();
    this.zero_page();
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
