/**
 * Zones, as far as long-term pins care: `kernel.movable` bytes of memory are ZONE_MOVABLE, and user
 * pages (anonymous, page cache) are allocated there first, as GFP_HIGHUSER_MOVABLE asks. A long-term
 * pin must not keep a page in ZONE_MOVABLE (it would block memory offlining and CMA), so from 5.13 GUP
 * migrates such pages out before pinning, allocating the targets under PF_MEMALLOC_PIN.
 * Kernel: include/linux/mmzone.h, mm/page_alloc.c (GFP_HIGHUSER_MOVABLE), include/linux/mm.h
 * folio_is_longterm_pinnable(), include/linux/sched/mm.h memalloc_pin_save().
 * Simplified: the zone is a property of an allocation, not of a physical frame range; no CMA.
 */
import type { PageAllocator } from './page_alloc.js';

export class MovableZone {
  /** pages of ZONE_MOVABLE (0: none) */
  readonly limit: number;
  /** the folios allocated from it, by head pfn */
  readonly pfns = new Set<number>();
  /** frames of its large folios beyond their heads (what `pfns.size` does not count) */
  private tails = 0;
  /** memalloc_pin_save() nesting: allocations avoid ZONE_MOVABLE while > 0 */
  memalloc_pin = 0;
  constructor(limit: number) {
    this.limit = limit;
  }

  /** reset() - no folio in the zone, as new (a machine reused by the next execution). */
  reset(): void {
    if (this.pfns.size) this.pfns.clear();
    this.tails = 0;
    this.memalloc_pin = 0;
  }

  /** The frames of ZONE_MOVABLE in use. */
  get used(): number {
    return this.pfns.size + this.tails;
  }

  /** zone_add() - (pinsim-only) the folio of @nr frames headed by @head comes from ZONE_MOVABLE, if it has room. */
  add(head: number, nr: number): void {
    if (this.memalloc_pin !== 0 || this.used + nr > this.limit) return;
    this.pfns.add(head);
    this.tails += nr - 1;
  }

  /** zone_split() - (pinsim-only) the folio of @nr frames headed by @head became @nr order-0 folios. */
  split(head: number, nr: number): void {
    if (!this.pfns.has(head)) return;
    this.tails -= nr - 1;
    for (let p = head + 1; p < head + nr; p++) this.pfns.add(p);
  }

  /** zone_remove() - (pinsim-only) the folio of @nr frames headed by @head went back to the allocator. */
  remove(head: number, nr: number): void {
    if (this.pfns.delete(head)) this.tails -= nr - 1;
  }
}

/**
 * The part of the kernel zone accounting reads: its allocator and ZONE_MOVABLE (the Kernel has both;
 * naming only these keeps this file, which kernel.ts builds on, from importing kernel.ts back).
 */
export interface ZoneView {
  readonly alloc: PageAllocator;
  readonly movable: MovableZone;
}

/** alloc_user_page() - a frame for user memory: from ZONE_MOVABLE while it has room. Return: pfn or -1. */
export function alloc_user_page(k: ZoneView): number {
  const pfn = k.alloc.alloc_page();
  if (pfn < 0) return pfn;
  k.movable.add(pfn, 1);
  return pfn;
}

/** folio_is_longterm_pinnable() - @head's folio is not in ZONE_MOVABLE (fsdax is refused separately). */
export function folio_is_longterm_pinnable(k: Pick<ZoneView, 'movable'>, head: number): boolean {
  return !k.movable.pfns.has(head);
}
