/**
 * The page-table half of mm/hugetlb.c: faults, copy-on-write, zaps, fork and mprotect of hugetlb
 * mappings (hugetlb.ts is the pool half). A huge page is mapped whole by one PMD (2 MiB) or PUD
 * (1 GiB) entry: it takes one reference and one entire mapcount on the folio, never a per-page
 * mapcount, and it is never split. pinsim stores the entry in each of its base pages' page-table
 * slots (each slot naming its own page of the folio), so a walker that reads one address needs no
 * hugetlb case; everything that changes an entry goes through the functions here.
 *
 * Copy-on-write reuses a huge page by mapcount in every era (hugetlb_wp(): mapped once and
 * anonymous; PageAnonExclusive, from 5.19, only remembers it), so a FOLL_GET reference (vmsplice)
 * does not make a write copy: the reference holder keeps seeing the writer's data (cow.c's hugetlb
 * XFAILs). From 5.12 fork copies a maybe-pinned anonymous huge page for the child
 * (4eae4efa2c29); before, it is COW-shared like any other.
 * Kernel: mm/hugetlb.c hugetlb_fault(), hugetlb_no_page(), hugetlb_wp(), make_huge_pte(),
 * set_huge_pte_at(), huge_ptep_get_and_clear(), __unmap_hugepage_range(), copy_hugetlb_page_range(),
 * hugetlb_change_protection(), hugetlb_vm_op_split().
 * Simplified: no PMD sharing, no hugetlb VMA lock, no userfaultfd; the fault mutex is implied by
 * the atomic steps between yields.
 */
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EINVAL, type Errno } from './errno.js';
import { hugetlb_add_to_page_cache, hugetlbfs_get_folio } from './fs/hugetlbfs.js';
import { alloc_hugetlb_folio, vma_has_reservation, size_to_hstate, type HState } from './hugetlb.js';
import type { Kernel, Process } from './kernel.js';
import { MAPPING_ANON } from './mem_map.js';
import { __tlb_remove_page, tlb_finish_mmu, tlb_gather_mmu, vpn, type MmuGather } from './memory.js';
import {
  find_vma, is_cow_mapping, mk_pte, pte_dirty, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_FLAG_SPAN, PTE_WRITE,
  type MmStruct, type VmAreaStruct,
} from './mm_types.js';
import { PINSIM_BUG } from './mmdebug.js';
import { PageArrays } from './page_arrays.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_VMA, type MmuNotifierEvent,
} from './mmu_notifier.js';
import { ClearPageAnonExclusive, folio_maybe_dma_pinned, PageAnonExclusive, SetPageAnonExclusive } from './page-flags.js';
import { PAGE_SIZE, VM_FAULT_SIGBUS, VM_FAULT_WRITE, VM_MAYSHARE, VM_WRITE } from './types.js';

/** hstate_vma() - the hstate of the hugetlb VMA @vma. */
export function hstate_vma(k: Kernel, vma: VmAreaStruct): HState {
  return size_to_hstate(k, vma.vm_huge_order) ?? PINSIM_BUG(`hugetlb VMA of order ${vma.vm_huge_order} without its hstate`);
}

/** huge_page_size() of @vma in bytes. */
export function vma_huge_size(vma: VmAreaStruct): number {
  return 2 ** vma.vm_huge_order * PAGE_SIZE;
}

/** vma_hugecache_offset() - the huge page index in the file (or the anonymous mapping) that @haddr maps. */
export function vma_hugecache_offset(vma: VmAreaStruct, haddr: number): number {
  return Math.floor(vma.linear_page_index(haddr) / 2 ** vma.vm_huge_order);
}

/**
 * hugetlb_vm_op_split() - may @addr split a hugetlb VMA? Only at a huge page boundary.
 * Return: 0, or EINVAL for an address inside a huge page of a hugetlb VMA. Kernel: mm/hugetlb.c.
 */
export function hugetlb_vm_op_split(mm: MmStruct, addr: number): 0 | Errno {
  const vma = find_vma(mm, addr);
  if (!vma || vma.vm_huge_order === 0 || vma.vm_start === addr) return 0;
  return addr % vma_huge_size(vma) === 0 ? 0 : EINVAL;
}

/**
 * set_huge_pte_at() - map the huge page @head at @haddr of @mm with PTE bits @bits: the entry takes
 * a reference and an entire mapcount on the folio. Traced as one `pte_set` of `nr` pages.
 */
export function set_huge_pte_at(k: Kernel, mm: MmStruct, haddr: number, head: number, bits: number): void {
  const m = k.mem;
  const nr = m.folio_nr_pages(head);
  mm.pgtable.setRun(vpn(haddr), nr, mk_pte(head, bits), PTE_FLAG_SPAN);
  m._refcount[head] = m.refcount(head) + 1;
  m.entire_mapcount.set(head, m.folio_entire_mapcount(head) + 1);
  k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: haddr, pfn: head, write: (bits & PTE_WRITE) !== 0, refcount: m.refcount(head), nr });
}

/** huge_pte_modify() - rewrite the entry at @haddr with PTE bits @bits (no reference taken or dropped). */
export function huge_pte_modify(k: Kernel, mm: MmStruct, haddr: number, bits: number): void {
  const pte = mm.pgtable.get(vpn(haddr));
  const head = k.mem.folio_head(pte_pfn(pte));
  mm.pgtable.setRun(vpn(haddr), k.mem.folio_nr_pages(head), mk_pte(head, bits), PTE_FLAG_SPAN);
}

/**
 * trace_huge_pte_clear() - (pinsim-only) trace the huge entry at @haddr of @mm, which mapped the
 * @nr pages of the folio @head, as cleared: one `pte_clear` of its pages, with `nr`.
 * Kernel: none (the trace stands for huge_ptep_get_and_clear()'s write).
 */
export function trace_huge_pte_clear(k: Kernel, mm: MmStruct, haddr: number, head: number, nr: number, dirty: boolean): void {
  const cols = new PageArrays(nr, 0, 1, 1);
  const pfns = cols.i32(), d = cols.u8();
  for (let i = 0; i < nr; i++) pfns[i] = head + i;
  if (dirty) d.fill(1);
  k.emit({ type: 'pte_clear', time: k.now, actor: k.actorName(), mm: mm.owner, start: haddr, end: haddr + nr * PAGE_SIZE, pfns, dirty: d, nr });
}

/**
 * huge_ptep_get_and_clear() - clear the entry at @haddr; its reference goes into @gather (dropped
 * by tlb_finish_mmu()). Return: the head pfn it mapped, or -1. Traced as one `pte_clear` of the
 * folio's pages.
 */
export function huge_ptep_get_and_clear(k: Kernel, mm: MmStruct, haddr: number, gather: MmuGather): number {
  const pte = mm.pgtable.get(vpn(haddr));
  if (!pte_present(pte)) return -1;
  const m = k.mem;
  const head = m.folio_head(pte_pfn(pte));
  const nr = m.folio_nr_pages(head);
  mm.pgtable.setRun(vpn(haddr), nr, 0, 0);
  m.entire_mapcount.set(head, m.folio_entire_mapcount(head) - 1);
  trace_huge_pte_clear(k, mm, haddr, head, nr, pte_dirty(pte));
  __tlb_remove_page(gather, head);
  return head;
}

/**
 * __unmap_hugepage_range() - clear the entries of @vma in [@start, @end) (huge page aligned).
 * Return: the number of huge pages unmapped. Kernel: mm/hugetlb.c __unmap_hugepage_range().
 */
export function __unmap_hugepage_range(k: Kernel, vma: VmAreaStruct, start: number, end: number, gather: MmuGather): number {
  const size = vma_huge_size(vma);
  let n = 0;
  for (let a = Math.max(start, vma.vm_start); a < Math.min(end, vma.vm_end); a += size) {
    if (huge_ptep_get_and_clear(k, vma.vm_mm, a, gather) >= 0) n++;
  }
  return n;
}

/**
 * zap_hugepage_range() - unmap [@start, @end) of the hugetlb VMA @vma, whole huge pages (the range
 * is widened to them): notifier start, clear, notifier end, tlb_finish_mmu; a private mapping's COW
 * copies go too. Context: mmap_lock or i_mmap_rwsem held; may sleep.
 * Kernel: mm/memory.c zap_page_range_single() → unmap_single_vma() → __unmap_hugepage_range_final().
 */
export function* zap_hugepage_range(k: Kernel, vma: VmAreaStruct, start: number, end: number, event: MmuNotifierEvent = MMU_NOTIFY_CLEAR): Co {
  const size = vma_huge_size(vma);
  const s = Math.floor(start / size) * size, e = Math.ceil(end / size) * size;
  const range = mmu_notifier_range_init(k, vma.vm_mm, event, s, e);
  yield* mmu_notifier_invalidate_range_start(k, range);
  // All pages are still mapped here; a device (or another CPU) may access them.
  yield* schedPoint('hugetlb:zap_after_notifier_start');
  const gather = tlb_gather_mmu();
  const n = __unmap_hugepage_range(k, vma, s, e, gather);
  // Entries cleared, references still queued in the gather: not freed yet.
  yield* delay(n * k.timing.zapPerPage, 'hugetlb:zap_cleared');
  yield* mmu_notifier_invalidate_range_end(k, range);
  tlb_finish_mmu(k, gather);
}

/** A new anonymous huge page for @vma: owned by its process, exclusive (hugetlb_add_new_anon_rmap()). */
function hugetlb_new_anon(k: Kernel, vma: VmAreaStruct, haddr: number, head: number, nr: number): void {
  const m = k.mem;
  m.mapping.fill(MAPPING_ANON, head, head + nr);
  for (let i = 0; i < nr; i++) m.index[head + i] = vpn(haddr) + i;
  SetPageAnonExclusive(k, head);
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: head, gen: m.genOf(head), owner: `anon:${vma.vm_mm.owner}`, file: '', index: -1, nr });
}

/**
 * hugetlb_no_page() - fault in the huge page at @haddr: the file's page (allocated and added to the
 * page cache for a shared mapping), else a new anonymous page, consuming the mapping's reservation
 * where it has one. A shared writable mapping maps it writable; a private one read-only, and a
 * write then goes through hugetlb_wp() at once (reusing the page just made).
 * Return: 0, VM_FAULT_WRITE (through hugetlb_wp), VM_FAULT_SIGBUS (beyond EOF, or no huge page free).
 */
function* hugetlb_no_page(k: Kernel, vma: VmAreaStruct, haddr: number, write: boolean): Co<number> {
  const h = hstate_vma(k, vma);
  const idx = vma_hugecache_offset(vma, haddr);
  const file = vma.vm_file;
  const shared = (vma.vm_flags & VM_MAYSHARE) !== 0;
  let head = -1;
  if (file) {
    if (idx >= Math.floor(file.i_size / h.size)) return VM_FAULT_SIGBUS;
    head = hugetlbfs_get_folio(file, idx);
  }
  if (head < 0) {
    const use_resv = shared ? file!.resv_regions.has(idx) : vma_has_reservation(vma.vm_resv, idx, false);
    head = alloc_hugetlb_folio(k, h, use_resv);
    if (head < 0) return VM_FAULT_SIGBUS;
    if (shared) hugetlb_add_to_page_cache(k, file!, head, idx);
    else {
      if (use_resv) vma_has_reservation(vma.vm_resv, idx, true);
      hugetlb_new_anon(k, vma, haddr, head, h.nr);
    }
  }
  set_huge_pte_at(k, vma.vm_mm, haddr, head, shared && vma.vm_flags & VM_WRITE ? PTE_WRITE | PTE_DIRTY : 0);
  if (write && !shared) return yield* hugetlb_wp(k, vma, haddr, false);
  return 0;
}

/**
 * hugetlb_wp() - a write (or an unshare) fault on the write-protected huge entry at @haddr: a shared
 * mapping's entry just becomes writable; an anonymous page mapped once is reused (and marked
 * exclusive), whatever other references it has; anything else is copied into a new huge page
 * (consuming the owner's reservation where it has one). Return: VM_FAULT_WRITE when COW was broken
 * for a write, 0 for an unshare or a shared mapping, VM_FAULT_SIGBUS when no huge page is free.
 */
function* hugetlb_wp(k: Kernel, vma: VmAreaStruct, haddr: number, unshare: boolean): Co<number> {
  const mm = vma.vm_mm;
  const pte = mm.pgtable.get(vpn(haddr));
  if (!pte_present(pte)) return 0;
  const m = k.mem;
  const old = m.folio_head(pte_pfn(pte));
  const writable = (vma.vm_flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY;
  if (vma.vm_flags & VM_MAYSHARE) {
    if (!unshare) huge_pte_modify(k, mm, haddr, writable);
    return 0;
  }
  if (k.is_anon(old) && m.folio_entire_mapcount(old) === 1) {
    SetPageAnonExclusive(k, old);
    if (unshare) return 0;
    huge_pte_modify(k, mm, haddr, writable);
    return VM_FAULT_WRITE;
  }
  const h = hstate_vma(k, vma);
  const idx = vma_hugecache_offset(vma, haddr);
  const use_resv = vma_has_reservation(vma.vm_resv, idx, false);
  const nw = alloc_hugetlb_folio(k, h, use_resv);
  if (nw < 0) return VM_FAULT_SIGBUS;
  if (use_resv) vma_has_reservation(vma.vm_resv, idx, true);
  m.content.set(m.content.subarray(old, old + h.nr), nw);
  hugetlb_new_anon(k, vma, haddr, nw, h.nr);
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, haddr, haddr + h.size);
  yield* mmu_notifier_invalidate_range_start(k, range);
  const gather = tlb_gather_mmu();
  huge_ptep_get_and_clear(k, mm, haddr, gather);
  set_huge_pte_at(k, mm, haddr, nw, unshare ? 0 : writable);
  yield* mmu_notifier_invalidate_range_end(k, range);
  tlb_finish_mmu(k, gather);
  return unshare ? 0 : VM_FAULT_WRITE;
}

/**
 * hugetlb_fault_locked() - resolve a fault at @addr of the hugetlb VMA @vma (the caller checked
 * the VMA's permissions and spent the fault's time). Return: 0, VM_FAULT_WRITE, VM_FAULT_SIGBUS.
 * Kernel: mm/hugetlb.c hugetlb_fault().
 */
export function* hugetlb_fault_locked(k: Kernel, vma: VmAreaStruct, addr: number, write: boolean, unshare: boolean): Co<number> {
  const haddr = Math.floor(addr / vma_huge_size(vma)) * vma_huge_size(vma);
  const pte = vma.vm_mm.pgtable.get(vpn(haddr));
  if (!pte_present(pte)) return yield* hugetlb_no_page(k, vma, haddr, write);
  if ((!write && !unshare) || pte_write(pte)) return 0;
  return yield* hugetlb_wp(k, vma, haddr, unshare);
}

/**
 * hugetlb_try_dup_anon_rmap() - may fork share the parent's anonymous huge page @head? Not when it
 * may be DMA-pinned and fork copies such pages (5.12+; from 5.19 only an exclusive page can be
 * pinned, so only an exclusive one is checked). Sharing clears PageAnonExclusive (5.19+).
 * Kernel: include/linux/rmap.h hugetlb_try_dup_anon_rmap(); mm/hugetlb.c copy_hugetlb_page_range()
 * (5.12: 4eae4efa2c29).
 */
function hugetlb_try_dup_anon_rmap(k: Kernel, parent: Process, head: number): boolean {
  if (k.features.anon_exclusive && !PageAnonExclusive(k, head)) return true;
  if (k.features.hugetlb_fork_copies_pinned && parent.mm.has_pinned && folio_maybe_dma_pinned(k, head)) return false;
  ClearPageAnonExclusive(k, head);
  return true;
}

/**
 * copy_hugetlb_page_range() - fork: give the child @dst the entries of the parent's hugetlb VMA
 * @src. A shared mapping's entries are shared; a private one's pages are COW-shared (both entries
 * write-protected), except a maybe-pinned anonymous page (5.12+), which the child gets a copy of.
 * Context: the parent's mmap_lock held for write; may sleep (notifier, the copy).
 * Return: true, or false when no huge page was free for a copy (the fork then fails with ENOMEM).
 */
export function* copy_hugetlb_page_range(k: Kernel, parent: Process, dst: VmAreaStruct, src: VmAreaStruct): Co<boolean> {
  const pmm = parent.mm, cmm = dst.vm_mm;
  const size = vma_huge_size(src);
  const cow = is_cow_mapping(src.vm_flags);
  const present: number[] = [];
  for (let a = src.vm_start; a < src.vm_end; a += size) if (pte_present(pmm.pgtable.get(vpn(a)))) present.push(a);
  if (!present.length) return true;
  const range = cow ? mmu_notifier_range_init(k, pmm, MMU_NOTIFY_CLEAR, src.vm_start, src.vm_end) : null;
  if (range) {
    yield* mmu_notifier_invalidate_range_start(k, range);
    // The parent's entries are about to be write-protected; a device may still be faulting.
    yield* schedPoint('hugetlb:fork_after_notifier_start');
  }
  let ok = true;
  // From here to the end of the loop nothing sleeps: each entry is read at the moment it is copied.
  for (const a of present) {
    const pte = pmm.pgtable.get(vpn(a));
    if (!pte_present(pte)) continue;
    const head = k.mem.folio_head(pte_pfn(pte));
    if (!cow) {
      set_huge_pte_at(k, cmm, a, head, pte_write(pte) ? PTE_WRITE | PTE_DIRTY : 0);
      continue;
    }
    if (k.is_anon(head) && !hugetlb_try_dup_anon_rmap(k, parent, head)) {
      // The child gets its own copy; the parent keeps the pinned page, writable.
      const h = hstate_vma(k, src);
      const nw = alloc_hugetlb_folio(k, h, false);
      if (nw < 0) { ok = false; break; }
      k.mem.content.set(k.mem.content.subarray(head, head + h.nr), nw);
      hugetlb_new_anon(k, dst, a, nw, h.nr);
      set_huge_pte_at(k, cmm, a, nw, (dst.vm_flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY);
      continue;
    }
    // Share it copy-on-write: both entries read-only.
    if (pte_write(pte)) huge_pte_modify(k, pmm, a, pte_dirty(pte) ? PTE_DIRTY : 0);
    set_huge_pte_at(k, cmm, a, head, 0);
  }
  yield* delay(present.length * k.timing.zapPerPage, 'hugetlb:fork_copied');
  if (range) yield* mmu_notifier_invalidate_range_end(k, range);
  return ok;
}

/**
 * hugetlb_change_protection() - mprotect of the hugetlb VMA @vma to @newbits: entries lose write
 * permission when it is taken away (MMU_NOTIFY_PROTECTION_VMA over the VMA when any is present).
 * Context: mmap_lock held for write; may sleep. Return: nothing.
 */
export function* hugetlb_change_protection(k: Kernel, vma: VmAreaStruct, newbits: number): Co {
  const mm = vma.vm_mm;
  const size = vma_huge_size(vma);
  const present: number[] = [];
  for (let a = vma.vm_start; a < vma.vm_end; a += size) if (pte_present(mm.pgtable.get(vpn(a)))) present.push(a);
  if (!present.length) return;
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_PROTECTION_VMA, vma.vm_start, vma.vm_end);
  yield* mmu_notifier_invalidate_range_start(k, range);
  yield* schedPoint('hugetlb:mprotect_after_notifier_start');
  for (const a of present) {
    const pte = mm.pgtable.get(vpn(a));
    if (pte_present(pte) && !(newbits & VM_WRITE) && pte_write(pte)) huge_pte_modify(k, mm, a, pte_dirty(pte) ? PTE_DIRTY : 0);
  }
  yield* delay(present.length * k.timing.zapPerPage, 'hugetlb:mprotect_changed');
  yield* mmu_notifier_invalidate_range_end(k, range);
}
