/**
 * The hugetlb pool and its reservations: one hstate per huge page size (2 MiB: order 9, 1 GiB:
 * order 18), filled at boot from `kernel.hugepages`, each huge page a large folio carved from
 * `kernel.memory` (2 MiB pages from ZONE_MOVABLE first, as hugepage_movable_supported() allows;
 * 1 GiB pages never). A freed huge page goes back to the pool's free list, not to the page
 * allocator; only a temporary page (the target of a migration, allocated outside the pool when it
 * had none free) goes back to the allocator.
 *
 * Reservations are taken at mmap (hugetlb_reserve_pages): a private mapping reserves a page per
 * huge page of the VMA, which owns them; a shared one reserves the pages of the file range not
 * reserved already (the file's region map). mmap fails with ENOMEM when the free pages not already
 * reserved cannot cover it (no overcommit: nr_overcommit_hugepages is 0). A fault consumes the
 * reservation of its index; a fault without one takes a free unreserved page or fails. Unmapping a
 * private mapping returns what it did not consume; truncate and hole punching return the file's.
 * A page removed from the file while still referenced (pinned) is neither free nor reserved until
 * its last reference goes.
 * Kernel: mm/hugetlb.c hugetlb_hstate_alloc_pages(), dequeue_hugetlb_folio_nodemask(),
 * alloc_hugetlb_folio(), free_huge_folio(), alloc_hugetlb_folio_nodemask(),
 * alloc_migrate_hugetlb_folio(), hugetlb_reserve_pages(), hugetlb_unreserve_pages(),
 * hugetlb_acct_memory(), gather_surplus_pages(), hugetlb_vm_op_close().
 * Simplified: one node, no subpools, no cgroups, no overcommit (surplus pages only as migration
 * targets); a COW that finds no free page fails (SIGBUS) instead of unmapping the page from the
 * child (unmap_ref_private).
 */
import type { Kernel } from './kernel.js';
import { ENOMEM, type Errno } from './errno.js';
import { PG_FLAGS_MASK } from './mem_map.js';
import { PAGE_SIZE } from './types.js';

/** The huge page sizes pinsim models, by order: x86-64's PMD and PUD sizes. */
export const HPAGE_PMD_ORDER = 9;
export const HPAGE_PUD_ORDER = 18;
export type HugePageSize = '2M' | '1G';
export const HUGE_PAGE_SIZES: Readonly<Record<HugePageSize, number>> = { '2M': HPAGE_PMD_ORDER, '1G': HPAGE_PUD_ORDER };

/** huge_page_order() of a size in bytes, or -1 when x86-64 has no hstate of that size. */
export function huge_page_order_of(bytes: number): number {
  if (bytes === 2 ** HPAGE_PMD_ORDER * PAGE_SIZE) return HPAGE_PMD_ORDER;
  if (bytes === 2 ** HPAGE_PUD_ORDER * PAGE_SIZE) return HPAGE_PUD_ORDER;
  return -1;
}

/** struct hstate: one huge page size's pool and counters. */
export class HState {
  readonly order: number;
  nr_huge_pages = 0;
  free_huge_pages = 0;
  resv_huge_pages = 0;
  surplus_huge_pages = 0;
  /** The free pool pages, by head pfn; the last one enqueued is dequeued first. */
  readonly freelist: number[] = [];
  constructor(order: number) {
    this.order = order;
  }
  /** pages_per_huge_page() */
  get nr(): number {
    return 2 ** this.order;
  }
  /** huge_page_size() in bytes */
  get size(): number {
    return 2 ** this.order * PAGE_SIZE;
  }
  /** "2M" or "1G" */
  get name(): string {
    return this.order === HPAGE_PUD_ORDER ? '1G' : '2M';
  }
}

/**
 * A private hugetlb mapping's reservation map (struct resv_map of an HPAGE_RESV_OWNER VMA): the
 * huge page indexes whose reservation a fault has consumed (or that were released).
 */
export class HugetlbResvMap {
  readonly consumed = new Set<number>();
}

/** (pinsim-only) The kernel's hstates[] and which folios are hugetlb (folio_test_hugetlb()). */
export class Hugetlb {
  readonly hstates = new Map<number, HState>();
  /** Head pfn → hstate of every huge page that exists (pool pages, in use or free). */
  readonly folios = new Map<number, HState>();
  /** Heads of temporary pages: freed, they go back to the page allocator. */
  readonly temporary = new Set<number>();

  /** reset() - no hstate and no huge page, as new (a machine reused by the next execution); the boot pool is the kernel's to refill. */
  reset(): void {
    if (this.hstates.size) this.hstates.clear();
    if (this.folios.size) this.folios.clear();
    if (this.temporary.size) this.temporary.clear();
  }
}

/** folio_test_hugetlb() - is @head a huge page (of the pool)? */
export function folio_test_hugetlb(k: Kernel, head: number): boolean {
  return k.hugetlb.folios.has(head);
}

/**
 * size_to_hstate() - the hstate of pages of @order: x86-64 has one for 2 MiB and one for 1 GiB
 * (gbpages), with or without pages in the pool; null for any other order.
 */
export function size_to_hstate(k: Kernel, order: number): HState | null {
  let h = k.hugetlb.hstates.get(order);
  if (!h && (order === HPAGE_PMD_ORDER || order === HPAGE_PUD_ORDER)) k.hugetlb.hstates.set(order, (h = new HState(order)));
  return h ?? null;
}

/**
 * hugetlb_hstate_alloc_pages() - fill the pool with @count pages of @order at boot, 2 MiB pages from
 * ZONE_MOVABLE while it has room. Return: how many were allocated (fewer when memory runs out).
 * Kernel: mm/hugetlb.c hugetlb_hstate_alloc_pages(), alloc_pool_huge_folio().
 */
export function hugetlb_hstate_alloc_pages(k: Kernel, order: number, count: number): number {
  const h = size_to_hstate(k, order);
  if (!h) return 0;
  let n = 0;
  for (; n < count; n++) {
    const head = k.alloc.alloc_pages(order);
    if (head < 0) break;
    if (order === HPAGE_PMD_ORDER) k.movable.add(head, h.nr);
    k.hugetlb.folios.set(head, h);
    enqueue_hugetlb_folio(k, h, head);
    h.nr_huge_pages++;
  }
  return n;
}

/** enqueue_hugetlb_folio() - @head is a free page of the pool again. */
function enqueue_hugetlb_folio(k: Kernel, h: HState, head: number): void {
  k.mem.free.fill(1, head, head + h.nr);
  h.freelist.push(head);
  h.free_huge_pages++;
}

/**
 * dequeue_hugetlb_folio() - take a free page off the pool: the last one freed, skipping pages in
 * ZONE_MOVABLE when @avoid_movable (a long-term pin's migration target). Its pages get a new
 * generation and are no longer free. Return: the head pfn, or -1.
 * Kernel: mm/hugetlb.c dequeue_hugetlb_folio_node_exact().
 */
function dequeue_hugetlb_folio(k: Kernel, h: HState, avoid_movable: boolean): number {
  let i = h.freelist.length - 1;
  if (avoid_movable) while (i >= 0 && k.movable.pfns.has(h.freelist[i] as number)) i--;
  if (i < 0) return -1;
  const head = h.freelist.splice(i, 1)[0] as number;
  h.free_huge_pages--;
  const m = k.mem;
  const end = head + h.nr;
  m.folio_new_generation(head, h.nr);
  m.free.fill(0, head, end);
  m.content.fill(0, head, end);
  m._mapcount.fill(0, head, end);
  m._refcount[head] = 0;
  m._pincount[head] = 0;
  m.flags[head] = m.flagsOf(head) & ~PG_FLAGS_MASK;
  return head;
}

/**
 * alloc_hugetlb_folio() - a huge page of @h for a fault: consuming a reservation when @use_resv,
 * else only a free page no one has reserved. The page is zeroed, unowned, refcount 0; the caller
 * maps it or adds it to the page cache in the same step.
 * Return: the head pfn, or -1 (the fault answers SIGBUS: alloc_hugetlb_folio()'s -ENOSPC).
 * Kernel: mm/hugetlb.c alloc_hugetlb_folio(), vma_needs_reservation().
 */
export function alloc_hugetlb_folio(k: Kernel, h: HState, use_resv: boolean): number {
  if (!use_resv && h.free_huge_pages - h.resv_huge_pages <= 0) return -1;
  const head = dequeue_hugetlb_folio(k, h, false);
  if (head < 0) return -1;
  if (use_resv) h.resv_huge_pages--;
  return head;
}

/**
 * alloc_hugetlb_folio_nodemask() - a huge page of @h for a migration (outside ZONE_MOVABLE when
 * @avoid_movable: a long-term pin moving a page out of it): a free unreserved pool page, else a
 * temporary page from the page allocator, which goes back to it when freed. Return: the head pfn, or -1.
 * Kernel: mm/hugetlb.c alloc_hugetlb_folio_nodemask(), alloc_migrate_hugetlb_folio().
 */
export function alloc_hugetlb_folio_nodemask(k: Kernel, h: HState, avoid_movable: boolean): number {
  if (h.free_huge_pages - h.resv_huge_pages > 0) {
    const head = dequeue_hugetlb_folio(k, h, avoid_movable);
    if (head >= 0) return head;
  }
  const head = k.alloc.alloc_pages(h.order);
  if (head < 0) return -1;
  k.movable.add(head, h.nr);
  k.hugetlb.folios.set(head, h);
  k.hugetlb.temporary.add(head);
  h.nr_huge_pages++;
  h.surplus_huge_pages++;
  return head;
}

/**
 * free_huge_folio() - the last reference to the huge page @head went: back to the pool's free
 * list, or, for a temporary page, back to the page allocator.
 * Kernel: mm/hugetlb.c free_huge_folio(), update_and_free_hugetlb_folio().
 */
export function free_huge_folio(k: Kernel, head: number): void {
  const h = k.hugetlb.folios.get(head) as HState;
  k.mem.entire_mapcount.delete(head);
  k.mem.mapping.fill(0, head, head + h.nr);
  if (k.hugetlb.temporary.delete(head)) {
    h.nr_huge_pages--;
    h.surplus_huge_pages--;
    k.hugetlb.folios.delete(head);
    k.movable.remove(head, h.nr);
    k.alloc.free_pages(head, h.order);
    return;
  }
  enqueue_hugetlb_folio(k, h, head);
}

/**
 * move_hugetlb_state() - a migration replaced @old by @new: if @new is a temporary page, the pool
 * keeps it and @old becomes the temporary one (freed to the page allocator when its last reference
 * goes), so the pool's size does not change. Kernel: mm/hugetlb.c move_hugetlb_state().
 */
export function move_hugetlb_state(k: Kernel, old: number, nw: number): void {
  if (k.hugetlb.temporary.delete(nw)) k.hugetlb.temporary.add(old);
}

/**
 * hugetlb_acct_memory() - reserve @delta more pages of @h (or release -@delta).
 * Return: 0, or ENOMEM when the free pages not yet reserved cannot cover @delta (no overcommit).
 * Kernel: mm/hugetlb.c hugetlb_acct_memory(), gather_surplus_pages().
 */
export function hugetlb_acct_memory(h: HState, delta: number): 0 | Errno {
  if (delta > 0 && h.resv_huge_pages + delta > h.free_huge_pages) return ENOMEM;
  h.resv_huge_pages += delta;
  return 0;
}

/** Huge page indexes [from, to) of the file regions set @regions does not hold yet. */
function regions_missing(regions: ReadonlySet<number>, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (!regions.has(i)) n++;
  return n;
}

/**
 * hugetlb_reserve_pages() - reserve the huge pages [@from, @to) (huge page indexes) of a new
 * mapping: for a private one, every page, owned by the VMA (@resv); for a shared one, those of the
 * file range no earlier mapping reserved (@regions, the file's region map).
 * Return: 0, or ENOMEM (the pool cannot cover it; nothing is reserved then).
 * Kernel: mm/hugetlb.c hugetlb_reserve_pages().
 */
export function hugetlb_reserve_pages(h: HState, from: number, to: number, regions: Set<number> | null): 0 | Errno {
  const chg = regions ? regions_missing(regions, from, to) : to - from;
  const err = hugetlb_acct_memory(h, chg);
  if (err) return err;
  if (regions) for (let i = from; i < to; i++) regions.add(i);
  return 0;
}

/**
 * hugetlb_unreserve_pages() - the huge pages [@from, @to) of a file were truncated or punched out:
 * their regions go, and the reservations of those that had no page (@freed pages were removed,
 * having consumed theirs) are released. Kernel: mm/hugetlb.c hugetlb_unreserve_pages().
 */
export function hugetlb_unreserve_pages(h: HState, regions: Set<number>, from: number, to: number, freed: number): void {
  let chg = 0;
  for (const i of [...regions]) if (i >= from && i < to) { regions.delete(i); chg++; }
  hugetlb_acct_memory(h, -Math.max(0, chg - freed));
}

/**
 * hugetlb_vm_op_close() - a private hugetlb VMA part covering huge indexes [@from, @to) goes away:
 * the reservations it owns and did not consume are released.
 * Kernel: mm/hugetlb.c hugetlb_vm_op_close().
 */
export function hugetlb_vm_op_close(h: HState, resv: HugetlbResvMap, from: number, to: number): void {
  let reserve = 0;
  for (let i = from; i < to; i++) {
    if (resv.consumed.has(i)) continue;
    resv.consumed.add(i);
    reserve++;
  }
  hugetlb_acct_memory(h, -reserve);
}

/**
 * vma_has_reservation() - does a fault at huge index @idx of a private owner's mapping find its
 * reservation unconsumed? (consumes it when @consume). Kernel: mm/hugetlb.c vma_needs_reservation(),
 * vma_commit_reservation().
 */
export function vma_has_reservation(resv: HugetlbResvMap | null, idx: number, consume: boolean): boolean {
  if (!resv || resv.consumed.has(idx)) return false;
  if (consume) resv.consumed.add(idx);
  return true;
}
