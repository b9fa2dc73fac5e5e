/**
 * The page allocator: a LIFO free list over the frame table, so a freed frame is the
 * next one handed out and a use-after-free shows up as a write into someone else's data, as on
 * real hardware. `kernel.memory` is a limit: allocation beyond it fails as the kernel's would.
 */
import type { MemMap } from './mem_map.js';
import { MAPPING_NONE } from './mem_map.js';

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
  /** Frames in use (allocated and not freed), the zero page excluded. */
  used = 0;
  readonly limitPages: number;
  private readonly map: MemMap;

  constructor(map: MemMap, limitPages: number) {
    this.map = map;
    this.limitPages = limitPages;
  }

  /**
   * alloc_page() - take a frame off the free list (or the high-water mark): generation bumped,
   * refcount 0, no owner. The caller attaches it to its first holder in the same atomic step.
   * Return: the pfn, or -1 when `kernel.memory` is exhausted.
   * Kernel: mm/page_alloc.c __alloc_pages(). Simplified: order 0 only, no zones, no watermarks.
   */
  alloc_page(): number {
    if (this.used >= this.limitPages) return -1;
    const m = this.map;
    let pfn: number;
    if (this.top > 0) pfn = this.stack[--this.top] as number;
    else {
      pfn = m.highWater++;
      m.grow(m.highWater);
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
    if (this.top === this.stack.length) {
      const b = new Int32Array(this.stack.length * 2);
      b.set(this.stack);
      this.stack = b;
    }
    this.stack[this.top++] = pfn;
  }
}
