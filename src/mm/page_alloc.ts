/**
 * The page allocator: a LIFO free list over the frame table, so a freed frame is the
 * next one handed out and a use-after-free shows up as a write into someone else's data, as on
 * real hardware. `kernel.memory` is a limit: allocation beyond it fails as the kernel's would.
 *
 * Folios of order 1 to 18 come from an aligned free block of 2^order frames: a freed block of that
 * order (or a larger one split), else fresh frames above the high-water mark, aligned up (the frames
 * skipped to align go on the order-0 list). Physical memory is the pfns up to `kernel.memory`, so a
 * block that does not fit below it is not there and the caller falls back (the hugetlb pool gets
 * fewer pages). Order-0 allocation is unchanged: the LIFO list, then the high-water mark.
 * Kernel: mm/page_alloc.c __alloc_pages(), __free_pages(); the buddy allocator's aligned blocks.
 * Simplified: no zones, no watermarks, and no merging: freed order-0 frames never coalesce back
 * into a larger block (a large folio's block does go back whole).
 */
import type { MemMap } from './mem_map.js';
import { FOLIO_ORDER_SHIFT, MAPPING_NONE, MAX_FOLIO_ORDER } from './mem_map.js';

/**
 * (pinsim-only) The most frames a run may have: 2^22, 16 GiB of 4 KiB pages. A frame in use costs
 * the host about 50 bytes (its row, its PTE, its page-cache slot), about 140 with two devices
 * translating it and every checker keeping its books (`npm run bench`: bytesPerPage,
 * bytesPerPageWithDevices), so a run stays within about 2.5 GiB even then. Validation refuses a
 * `kernel.memory` above it, which bounds every run.
 */
export const PINSIM_MAX_FRAMES = 1 << 22;

export class PageAllocator {
  private stack = new Int32Array(16);
  private top = 0;
  /** Freed blocks of each order ≥ 1, by head pfn, last freed first. */
  private readonly blocks: number[][] = [];
  /** Frames in use (allocated and not freed), the zero page excluded. */
  used = 0;
  readonly limitPages: number;
  private readonly map: MemMap;

  constructor(map: MemMap, limitPages: number) {
    this.map = map;
    this.limitPages = limitPages;
  }

  /**
   * reset() - every frame free again, as new (a machine reused by the next execution): the free
   * list emptied, its room kept and zeroed.
   */
  reset(): void {
    this.stack.fill(0);
    this.top = 0;
    this.blocks.length = 0;
    this.used = 0;
  }

  /**
   * alloc_page() - take a frame off the free list (or the high-water mark): generation bumped,
   * refcount 0, no owner. The caller attaches it to its first holder in the same atomic step.
   * Return: the pfn, or -1 when `kernel.memory` is exhausted.
   * Kernel: mm/page_alloc.c __alloc_pages(). Simplified: no zones, no watermarks.
   */
  alloc_page(): number {
    if (this.used >= this.limitPages) return -1;
    const m = this.map;
    let pfn: number;
    if (this.top > 0) pfn = this.stack[--this.top] as number;
    else if (m.highWater <= this.limitPages) {
      pfn = m.highWater++;
      m.grow(m.highWater);
    } else {
      // Every frame below the physical end is taken or in a freed large block: split one.
      this.split_block_for_order0();
      pfn = this.stack[--this.top] as number;
    }
    this.used++;
    m.free[pfn] = 0;
    m.gen[pfn] = m.genOf(pfn) + 1;
    m._refcount[pfn] = 0;
    m._pincount[pfn] = 0;
    m._mapcount[pfn] = 0;
    m.flags[pfn] = 0;
    m.mapping[pfn] = MAPPING_NONE;
    m.index[pfn] = -1;
    m.content[pfn] = 0;
    return pfn;
  }

  /** free_page() - return @pfn to the head of the free list (LIFO). Kernel: free_unref_page(). */
  free_page(pfn: number): void {
    const m = this.map;
    m.free[pfn] = 1;
    m.mapping[pfn] = MAPPING_NONE;
    this.used--;
    this.push(pfn);
  }

  private push(pfn: number): void {
    if (this.top === this.stack.length) {
      const b = new Int32Array(this.stack.length * 2);
      b.set(this.stack);
      this.stack = b;
    }
    this.stack[this.top++] = pfn;
  }

  /** A freed block is split for order-0 frames when no other frame is left (rare: large folios only). */
  private split_block_for_order0(): void {
    for (let o = 1; o <= MAX_FOLIO_ORDER; o++) {
      const head = this.blocks[o]?.pop();
      if (head === undefined) continue;
      for (let p = head + 2 ** o - 1; p >= head; p--) this.push(p);
      return;
    }
  }

  /**
   * alloc_pages() - a folio of 2^@order frames, naturally aligned: its pages zeroed and owned by
   * no one, each frame carrying the order, the generation one past the highest any of its frames
   * had (so the folio has one generation), refcount 0. Order 0 is alloc_page().
   * Return: the head pfn, or -1 when `kernel.memory` has no such block (the caller falls back).
   * Kernel: mm/page_alloc.c __alloc_pages() with __GFP_COMP (folio_alloc()).
   */
  alloc_pages(order: number): number {
    if (order === 0) return this.alloc_page();
    const nr = 2 ** order;
    if (this.used + nr > this.limitPages) return -1;
    const head = this.take_block(order);
    if (head < 0) return -1;
    const m = this.map;
    const end = head + nr;
    m.folio_new_generation(head, nr);
    m.free.fill(0, head, end);
    m._refcount.fill(0, head, end);
    m._pincount.fill(0, head, end);
    m._mapcount.fill(0, head, end);
    m.flags.fill(order << FOLIO_ORDER_SHIFT, head, end);
    m.mapping.fill(MAPPING_NONE, head, end);
    m.index.fill(-1, head, end);
    m.content.fill(0, head, end);
    m.entire_mapcount.delete(head);
    this.used += nr;
    return head;
  }

  /** An aligned free block of @order: a freed one (split from a larger one if need be), else fresh. */
  private take_block(order: number): number {
    for (let o = order; o <= MAX_FOLIO_ORDER; o++) {
      const head = this.blocks[o]?.pop();
      if (head === undefined) continue;
      // Split down: the upper halves go back as free blocks of their orders.
      for (let s = o - 1; s >= order; s--) (this.blocks[s] ??= []).push(head + 2 ** s);
      return head;
    }
    const m = this.map;
    const nr = 2 ** order;
    const head = Math.ceil(m.highWater / nr) * nr;
    // Physical frames are the pfns up to kernel.memory (pfn 0, the zero page, comes on top).
    if (head + nr > this.limitPages + 1) return -1;
    m.grow(head + nr);
    // The frames skipped to align the block are free order-0 frames, handed out lowest first.
    for (let p = head - 1; p >= m.highWater; p--) this.push(p);
    m.highWater = head + nr;
    return head;
  }

  /**
   * free_pages() - return the folio of 2^@order frames headed by @head as one free block.
   * Kernel: mm/page_alloc.c __free_pages(). Pairs with alloc_pages().
   */
  free_pages(head: number, order: number): void {
    if (order === 0) return this.free_page(head);
    const m = this.map;
    const nr = 2 ** order;
    m.free.fill(1, head, head + nr);
    m.mapping.fill(MAPPING_NONE, head, head + nr);
    m.entire_mapcount.delete(head);
    this.used -= nr;
    (this.blocks[order] ??= []).push(head);
  }
}
