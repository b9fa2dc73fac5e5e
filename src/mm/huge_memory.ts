/**
 * Anonymous transparent huge pages: the PMD fault (a 2 MiB folio, or the huge zero page on a read),
 * its fallback to 4 KiB pages, split_huge_pmd() when an operation covers part of a PMD mapping, the
 * PMD's copy-on-write and fork per era, and the zap of a whole PMD.
 *
 * A PMD-mapped THP is stored as hugetlb stores its entries: in the 512 page-table slots of its base
 * pages, each naming its own page of the folio; the mm remembers which PMDs map a THP whole
 * (`MmStruct.huge_pmds`), which is what a walker asks (pmd_trans_huge()). The entry takes one
 * reference and one entire mapcount on the folio. split_huge_pmd() turns it into 512 PTEs, each
 * taking a reference and a per-page mapcount; the folio stays large (the kernel queues it for a
 * deferred split), and the MMU_NOTIFY_CLEAR the split fires covers the whole 2 MiB. The huge zero
 * page is stored as 512 entries naming the shared zero page: what __split_huge_zero_page_pmd()
 * leaves behind when it is split, and what every walker already treats as the zero page.
 *
 * Per era: a write to a write-protected PMD reuses the folio when the era's do_wp_page() rule allows
 * (mapped once ≤ 5.8; a sole reference 5.9–5.18; PageAnonExclusive or a sole reference 5.19+),
 * else ≤ 5.7 copies the whole THP into a new one, and from 5.8 splits the PMD and copies 4 KiB
 * (3917c80280c9); a write to the huge zero page ≤ 5.7 allocates a THP, from 5.8 splits it.
 * fork() shares a PMD copy-on-write, but from 5.9 a maybe-pinned THP's PMD is split in the parent
 * first, so that the PTE copy gives the child 4 KiB copies of its exclusive pages (d042035eaf5f).
 * Kernel: mm/huge_memory.c do_huge_pmd_anonymous_page(), __do_huge_pmd_anonymous_page(),
 * do_huge_pmd_wp_page(), __split_huge_pmd(), __split_huge_pmd_locked(), __split_huge_zero_page_pmd(),
 * zap_huge_pmd(), copy_huge_pmd(), thp_vma_allowable_order() / transparent_hugepage_active().
 * A PMD-sized page-cache folio in a shared mapping that covers its aligned 2 MiB is mapped by a PMD
 * too (do_set_pmd()); splitting that PMD only clears it, and what stays mapped is faulted in again.
 * Simplified: no deferred-split shrinker (a partly unmapped THP keeps its unmapped pages until its
 * last reference goes), no mTHP orders, no khugepaged per-mm registration (see khugepaged.ts).
 */
import { schedPoint, type Co } from '../engine/actor.js';
import type { Kernel, Process } from './kernel.js';
import { MAPPING_ANON } from './mem_map.js';
import { huge_pte_modify, huge_ptep_get_and_clear, set_huge_pte_at } from './hugetlb_fault.js';
import { HPAGE_PMD_ORDER } from './hugetlb.js';
import { mk_pte, pte_dirty, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR,
} from './mmu_notifier.js';
import { ClearPageAnonExclusive, folio_maybe_dma_pinned, PageAnonExclusive, SetPageAnonExclusive } from './page-flags.js';
import { folio_mark_dirty } from './page-writeback.js';
import { split_folio } from './folio_split.js';
import { tlb_finish_mmu, tlb_gather_mmu, trace_pte_clear, type MmuGather } from './memory.js';
import { PAGE_SIZE, VM_FAULT_WRITE, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_SHARED, VM_WRITE, ZERO_PFN } from './types.js';

/** The anonymous THP policy (/sys/kernel/mm/transparent_hugepage/enabled). */
export type ThpMode = 'never' | 'madvise' | 'always';

export const HPAGE_PMD_NR = 2 ** HPAGE_PMD_ORDER;
export const HPAGE_PMD_SIZE = HPAGE_PMD_NR * PAGE_SIZE;

/** The 2 MiB-aligned address at or below @addr. */
export function pmd_addr(addr: number): number {
  return Math.floor(addr / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
}

/** pmd_trans_huge() - does a PMD of @mm map a THP (or the huge zero page) whole at @addr? */
export function pmd_trans_huge(mm: MmStruct, addr: number): boolean {
  return mm.huge_pmds.size !== 0 && mm.huge_pmds.has(Math.floor(addr / HPAGE_PMD_SIZE));
}

/** is_huge_zero_pmd() - the PMD at @haddr (trans-huge) maps the huge zero page. */
function is_huge_zero_pmd(mm: MmStruct, haddr: number): boolean {
  return pte_pfn(mm.pgtable.get(haddr / PAGE_SIZE)) === ZERO_PFN;
}

/**
 * thp_vma_allowable() - may a THP map [@haddr, @haddr + 2 MiB) of @vma? A private anonymous VMA
 * covering it whole, under `kernel.thp` always, or madvise with MADV_HUGEPAGE, and not
 * MADV_NOHUGEPAGE. Shared anonymous memory is shmem, whose huge pages its own knob decides (off).
 * Kernel: mm/huge_memory.c thp_vma_allowable_order(), thp_vma_suitable_order().
 */
export function thp_vma_allowable(k: Kernel, vma: VmAreaStruct, haddr: number): boolean {
  if (k.thp === 'never' || vma.vm_file !== null || vma.vm_huge_order || vma.vm_flags & (VM_SHARED | VM_NOHUGEPAGE)) return false;
  if (k.thp === 'madvise' && !(vma.vm_flags & VM_HUGEPAGE)) return false;
  return haddr >= vma.vm_start && haddr + HPAGE_PMD_SIZE <= vma.vm_end;
}

/** pmd_none() - nothing at all is mapped in the 2 MiB at @haddr (no page table under the PMD). */
export function pmd_none(mm: MmStruct, haddr: number): boolean {
  let none = true;
  const v = haddr / PAGE_SIZE;
  mm.pgtable.forEachIn(v, v + HPAGE_PMD_NR - 1, () => { none = false; });
  return none;
}

/**
 * set_pmd_at() - map the THP @head (or, for ZERO_PFN, the huge zero page) at @haddr of @mm. The THP
 * takes one reference and one entire mapcount; the huge zero page takes none. Traced as one
 * `pte_set` of `nr` pages (the huge zero page: `nr` entries of the zero page, one event).
 */
export function set_pmd_at(k: Kernel, mm: MmStruct, haddr: number, head: number, bits: number): void {
  mm.huge_pmds.add(haddr / HPAGE_PMD_SIZE);
  if (head !== ZERO_PFN) return set_huge_pte_at(k, mm, haddr, head, bits);
  mm.pgtable.setRun(haddr / PAGE_SIZE, HPAGE_PMD_NR, mk_pte(ZERO_PFN, bits), 0);
  k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: haddr, pfn: ZERO_PFN, write: false, refcount: 1, zero: HPAGE_PMD_NR });
}

/**
 * zap_huge_pmd() - clear the PMD at @haddr; a THP's reference goes into @gather (a page-cache
 * folio's dirty bit moves to the folio first). Return: the head (ZERO_PFN for the huge zero page), or -1.
 */
export function zap_huge_pmd(k: Kernel, mm: MmStruct, haddr: number, gather: MmuGather): number {
  mm.huge_pmds.delete(haddr / HPAGE_PMD_SIZE);
  const pte = mm.pgtable.get(haddr / PAGE_SIZE);
  if (pte_pfn(pte) !== ZERO_PFN && pte_dirty(pte) && k.mem.mappingOf(pte_pfn(pte)) > 0) folio_mark_dirty(k, pte_pfn(pte), 'zap_huge_pmd');
  if (pte_pfn(pte) !== ZERO_PFN) return huge_ptep_get_and_clear(k, mm, haddr, gather);
  mm.pgtable.setRun(haddr / PAGE_SIZE, HPAGE_PMD_NR, 0, 0);
  // The huge zero page: as many entries of the zero page (pfn ZERO_PFN), no reference.
  trace_pte_clear(k, mm, haddr, new Int32Array(HPAGE_PMD_NR).fill(ZERO_PFN), new Uint8Array(HPAGE_PMD_NR));
  return ZERO_PFN;
}

/** A new anonymous THP for @vma at @haddr: zeroed (or holding @from's content), exclusive. */
function thp_new_anon(k: Kernel, vma: VmAreaStruct, haddr: number, from = -1): number {
  const head = k.alloc.alloc_pages(HPAGE_PMD_ORDER);
  if (head < 0) {
    k.emit({ type: 'thp_fault_fallback', time: k.now, actor: k.actorName(), mm: vma.vm_mm.owner, va: haddr });
    return -1;
  }
  k.movable.add(head, HPAGE_PMD_NR);
  const m = k.mem;
  m.mapping.fill(MAPPING_ANON, head, head + HPAGE_PMD_NR);
  for (let i = 0; i < HPAGE_PMD_NR; i++) m.index[head + i] = haddr / PAGE_SIZE + i;
  if (from >= 0) m.content.set(m.content.subarray(from, from + HPAGE_PMD_NR), head);
  SetPageAnonExclusive(k, head);
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: head, gen: m.genOf(head), owner: `anon:${vma.vm_mm.owner}`, file: '', index: -1, nr: HPAGE_PMD_NR });
  return head;
}

/**
 * do_huge_pmd_anonymous_page() - a fault at @haddr of an eligible VMA with nothing mapped in the
 * 2 MiB: a read maps the huge zero page; a write a new THP (writable and dirty where the VMA is
 * writable). Return: 0, or null to fall back to 4 KiB pages (no aligned free block of 512 frames).
 */
export function do_huge_pmd_anonymous_page(k: Kernel, vma: VmAreaStruct, haddr: number, write: boolean): number | null {
  if (!write) {
    set_pmd_at(k, vma.vm_mm, haddr, ZERO_PFN, 0);
    return 0;
  }
  const head = thp_new_anon(k, vma, haddr);
  if (head < 0) return null;
  set_pmd_at(k, vma.vm_mm, haddr, head, vma.vm_flags & VM_WRITE ? PTE_WRITE | PTE_DIRTY : 0);
  return 0;
}

/**
 * do_set_pmd() - map the page-cache folio of @page (a PMD-sized one) at the 2 MiB at @haddr of the
 * shared file VMA @vma by one PMD, when the VMA covers it at a file offset of the same alignment
 * and nothing is mapped there yet. Return: true when mapped. The caller dirtied the folio through
 * page_mkwrite for a write. Kernel: mm/memory.c do_set_pmd(), mm/filemap.c filemap_map_pmd().
 * Simplified: shared mappings only (a private file mapping maps the folio by PTEs).
 */
export function do_set_pmd(k: Kernel, vma: VmAreaStruct, haddr: number, page: number, bits: number): boolean {
  const m = k.mem;
  const head = m.folio_head(page);
  if (m.folio_order(head) !== HPAGE_PMD_ORDER || !(vma.vm_flags & VM_SHARED) || vma.vm_flags & VM_NOHUGEPAGE) return false;
  if (haddr < vma.vm_start || haddr + HPAGE_PMD_SIZE > vma.vm_end || vma.linear_page_index(haddr) !== m.indexOf(head)) return false;
  if (!pmd_none(vma.vm_mm, haddr)) return false;
  set_pmd_at(k, vma.vm_mm, haddr, head, bits);
  return true;
}

/**
 * __split_huge_pmd_locked() - turn the PMD at @haddr into 512 PTEs mapping the same pages with the
 * same bits: the folio gains 511 references and a mapcount on every page, and loses its entire
 * mapcount. The huge zero page's entries already name the zero page. Nothing sleeps.
 */
function __split_huge_pmd_locked(k: Kernel, mm: MmStruct, haddr: number, gather: MmuGather): void {
  if (!mm.huge_pmds.has(haddr / HPAGE_PMD_SIZE)) return;
  const pte = mm.pgtable.get(haddr / PAGE_SIZE);
  const pfn = pte_pfn(pte);
  // A page-cache folio's PMD is just cleared: the pages the operation keeps are faulted in again.
  if (pfn !== ZERO_PFN && k.mem.mappingOf(pfn) > 0) {
    zap_huge_pmd(k, mm, haddr, gather);
    return;
  }
  mm.huge_pmds.delete(haddr / HPAGE_PMD_SIZE);
  if (pfn !== ZERO_PFN) {
    const m = k.mem;
    const head = m.folio_head(pfn);
    for (let p = head; p < head + HPAGE_PMD_NR; p++) m._mapcount[p] = m.mapcount(p) + 1;
    m.entire_mapcount.set(head, m.folio_entire_mapcount(head) - 1);
    m._refcount[head] = m.refcount(head) + HPAGE_PMD_NR - 1;
  }
  k.emit({ type: 'thp_split_pmd', time: k.now, actor: k.actorName(), mm: mm.owner, va: haddr, pfn, refs: pfn === ZERO_PFN ? 0 : HPAGE_PMD_NR - 1, write: pte_write(pte) });
}

/**
 * __split_huge_pmd() - split the PMD mapping a THP at @haddr of @mm, under an MMU_NOTIFY_CLEAR over
 * the whole 2 MiB (a device mirroring any of it drops its translations). Context: mmap_lock held;
 * may sleep (the notifier). Kernel: mm/huge_memory.c __split_huge_pmd().
 */
export function* __split_huge_pmd(k: Kernel, mm: MmStruct, haddr: number): Co {
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, haddr, haddr + HPAGE_PMD_SIZE);
  yield* mmu_notifier_invalidate_range_start(k, range);
  yield* schedPoint('thp:split_after_notifier_start');
  // Under the PMD lock: a racing zap may have cleared it meanwhile.
  const gather = tlb_gather_mmu();
  __split_huge_pmd_locked(k, mm, haddr, gather);
  yield* mmu_notifier_invalidate_range_end(k, range);
  tlb_finish_mmu(k, gather);
}

/**
 * split_huge_pmd_address() - if @addr lies inside (not at the start of) a PMD mapping a THP in
 * @mm, split that PMD: what vma_adjust_trans_huge() does before a VMA is split at @addr, and
 * zap_pmd_range() or change_pmd_range() before they act on part of a PMD.
 */
export function* split_huge_pmd_address(k: Kernel, mm: MmStruct, addr: number): Co {
  if (addr % HPAGE_PMD_SIZE === 0 || !pmd_trans_huge(mm, addr)) return;
  yield* __split_huge_pmd(k, mm, pmd_addr(addr));
}

/** split_huge_pmd_range() - split the THP PMDs that [@start, @end) covers only in part. */
export function* split_huge_pmd_range(k: Kernel, mm: MmStruct, start: number, end: number): Co {
  if (mm.huge_pmds.size === 0) return;
  yield* split_huge_pmd_address(k, mm, start);
  yield* split_huge_pmd_address(k, mm, end);
}

/**
 * madvise_free_split_huge_pmd() - MADV_FREE of [@start, @end) covers the THP PMDs at its ends in
 * part: each THP mapped only there whose references its PMD explains is split, PMD (its own
 * MMU_NOTIFY_CLEAR over 2 MiB) and folio, so that only the pages in the range become lazily
 * freeable; one that cannot be split (a pin, any other reference, another mapping) keeps its PMD
 * and the advice skips it. Context: mmap_lock held for read; may sleep (the notifier).
 * Kernel: mm/huge_memory.c madvise_free_huge_pmd() (next - addr != HPAGE_PMD_SIZE: split_folio()).
 */
export function* madvise_free_split_huge_pmd(k: Kernel, mm: MmStruct, start: number, end: number): Co {
  if (mm.huge_pmds.size === 0) return;
  const m = k.mem;
  const ends = start % HPAGE_PMD_SIZE ? [pmd_addr(start)] : [];
  if (end % HPAGE_PMD_SIZE && !ends.includes(pmd_addr(end))) ends.push(pmd_addr(end));
  for (const haddr of ends) {
    if (!pmd_trans_huge(mm, haddr) || is_huge_zero_pmd(mm, haddr)) continue;
    const head = m.folio_head(pte_pfn(mm.pgtable.get(haddr / PAGE_SIZE)));
    // page_mapcount() != 1: mapped by another process too; an extra reference: the split would fail.
    if (m.folio_mapcount(head) !== 1 || m.pincount(head) !== 0 || m.refcount(head) !== 1) continue;
    yield* __split_huge_pmd(k, mm, haddr);
    split_folio(k, head);
  }
}

/** split_huge_pmd_all() - split every THP PMD of @mm in [@start, @end) (a move that cannot keep them). */
export function* split_huge_pmd_all(k: Kernel, mm: MmStruct, start: number, end: number): Co {
  for (const idx of [...mm.huge_pmds].sort((a, b) => a - b)) {
    const haddr = idx * HPAGE_PMD_SIZE;
    if (haddr + HPAGE_PMD_SIZE > start && haddr < end && pmd_trans_huge(mm, haddr)) yield* __split_huge_pmd(k, mm, haddr);
  }
}

/**
 * thp_can_reuse() - may a write to the write-protected PMD mapping the THP @head reuse it, by the
 * era's rule? ≤ 5.8 mapped once (reuse_swap_page() over the whole THP); 5.9–5.18 a sole reference;
 * 5.19+ PageAnonExclusive, or else a sole reference.
 */
function thp_can_reuse(k: Kernel, head: number): boolean {
  const m = k.mem;
  switch (k.features.wp_reuse) {
    case 'mapcount': return m.folio_mapcount(head) === 1;
    case 'refcount': return m.refcount(head) === 1;
    case 'anon_exclusive': return PageAnonExclusive(k, head) || m.refcount(head) === 1;
  }
}

/**
 * do_huge_pmd_wp_page() - a write (or unshare) fault on the write-protected PMD at @haddr of @vma.
 * Reuse when the era allows; else ≤ 5.7 copy the whole THP (the huge zero page: a new zeroed THP)
 * into a new one mapped by the PMD, and from 5.8 (or when no THP can be had) split the PMD and let
 * the 4 KiB fault path copy the one page. Return: VM_FAULT_WRITE or 0 when done here, or null when
 * the PMD was split and the caller retries at 4 KiB. Kernel: mm/huge_memory.c do_huge_pmd_wp_page()
 * (4.20: do_huge_pmd_wp_page_fallback(); 5.8: 3917c80280c9).
 */
export function* do_huge_pmd_wp_page(k: Kernel, vma: VmAreaStruct, haddr: number, unshare: boolean): Co<number | null> {
  const mm = vma.vm_mm;
  const pte = mm.pgtable.get(haddr / PAGE_SIZE);
  const zero = is_huge_zero_pmd(mm, haddr);
  const writable = (vma.vm_flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY;
  if (!zero) {
    const head = k.mem.folio_head(pte_pfn(pte));
    if (thp_can_reuse(k, head)) {
      SetPageAnonExclusive(k, head);
      if (unshare) return 0;
      huge_pte_modify(k, mm, haddr, writable);
      return VM_FAULT_WRITE;
    }
  }
  if (!k.features.thp_cow_split && !unshare) {
    const nw = thp_new_anon(k, vma, haddr, zero ? -1 : k.mem.folio_head(pte_pfn(pte)));
    if (nw >= 0) {
      if (!zero) k.emit({ type: 'thp_cow_copy', time: k.now, actor: k.actorName(), mm: mm.owner, va: haddr, pfn: k.mem.folio_head(pte_pfn(pte)), new: nw });
      const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, haddr, haddr + HPAGE_PMD_SIZE);
      yield* mmu_notifier_invalidate_range_start(k, range);
      const gather = tlb_gather_mmu();
      zap_huge_pmd(k, mm, haddr, gather);
      set_pmd_at(k, mm, haddr, nw, writable);
      yield* mmu_notifier_invalidate_range_end(k, range);
      tlb_finish_mmu(k, gather);
      return VM_FAULT_WRITE;
    }
  }
  yield* __split_huge_pmd(k, mm, haddr);
  return null;
}

/**
 * copy_huge_pmd() - fork: the child @dst gets the parent's THP PMDs in @src, shared copy-on-write
 * (both write-protected; PageAnonExclusive cleared). From 5.9 a maybe-pinned THP's PMD is split in
 * the parent instead, so that the PTE copy that follows copies its exclusive pages for the child.
 * Context: the parent's mmap_lock held for write, inside fork's notifier range; nothing sleeps.
 * Kernel: mm/huge_memory.c copy_huge_pmd() (5.9: d042035eaf5f).
 */
export function copy_huge_pmd(k: Kernel, parent: Process, dst: VmAreaStruct, src: VmAreaStruct): void {
  const pmm = parent.mm, cmm = dst.vm_mm;
  for (const idx of [...pmm.huge_pmds].sort((a, b) => a - b)) {
    const haddr = idx * HPAGE_PMD_SIZE;
    if (haddr < src.vm_start || haddr >= src.vm_end) continue;
    const pte = pmm.pgtable.get(haddr / PAGE_SIZE);
    if (!pte_present(pte)) continue;
    const head = k.mem.folio_head(pte_pfn(pte));
    if (head === ZERO_PFN) {
      set_pmd_at(k, cmm, haddr, ZERO_PFN, 0);
      continue;
    }
    const exclusive_pinned = (!k.features.anon_exclusive || PageAnonExclusive(k, head))
      && k.features.thp_fork_splits_pinned && pmm.has_pinned && folio_maybe_dma_pinned(k, head);
    if (exclusive_pinned) {
      // The parent's PMD is split here (the kernel's notifier for it nests in fork's range).
      __split_huge_pmd_locked(k, pmm, haddr, tlb_gather_mmu());
      continue;
    }
    ClearPageAnonExclusive(k, head);
    if (pte_write(pte)) huge_pte_modify(k, pmm, haddr, pte_dirty(pte) ? PTE_DIRTY : 0);
    set_pmd_at(k, cmm, haddr, head, 0);
  }
}

/** thp_pmds_in() - the addresses of the THP PMDs of @mm wholly inside [@start, @end), in order. */
export function thp_pmds_in(mm: MmStruct, start: number, end: number): number[] {
  if (mm.huge_pmds.size === 0) return [];
  const first = Math.ceil(start / HPAGE_PMD_SIZE), last = Math.floor(end / HPAGE_PMD_SIZE) - 1;
  // A range of few PMDs (a page table's, as every zap's) is looked up slot by slot.
  if (last - first < mm.huge_pmds.size) {
    const out: number[] = [];
    for (let i = first; i <= last; i++) if (mm.huge_pmds.has(i)) out.push(i * HPAGE_PMD_SIZE);
    return out;
  }
  return [...mm.huge_pmds].map((i) => i * HPAGE_PMD_SIZE).filter((a) => a >= start && a + HPAGE_PMD_SIZE <= end).sort((a, b) => a - b);
}

