/**
 * Page faults and zaps: handle_mm_fault() for anonymous, file and COW faults (with page_mkwrite on
 * shared file mappings), and the zap primitives munmap, MADV_DONTNEED and truncate share, in the
 * order every zap follows: notifier start (pages still mapped) → clear PTEs (references
 * queued in the mmu_gather batch) → notifier end → tlb_finish_mmu (references dropped, frames freed
 * at zero). Write faults on private mappings follow the era's COW rules (do_wp_page()).
 * Anonymous THP (a PMD fault, its COW and split) is in huge_memory.ts; hugetlb in hugetlb_fault.ts.
 * Kernel: mm/memory.c. Simplified: one PTE level, no swap.
 */
import { delay, schedPoint, type Co } from '../engine/actor.js';
import type { AddressSpace } from './fs/inode.js';
import { filemap_read_folio, index_beyond_eof } from './filemap.js';
import type { Kernel } from './kernel.js';
import { MAPPING_ANON } from './mem_map.js';
import { alloc_user_page } from './mmzone.js';
import { PageArrays } from './page_arrays.js';
import {
  is_cow_mapping, is_device_exclusive_entry, is_device_private_entry, mk_pte, pte_dirty, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE,
  vma_needs_dirty_tracking, type MmStruct, type VmAreaStruct,
} from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init,
  MMU_NOTIFY_CLEAR, type MmuNotifierEvent,
} from './mmu_notifier.js';
import { PageAnonExclusive, SetPageAnonExclusive } from './page-flags.js';
import { do_page_mkwrite, folio_mark_dirty } from './page-writeback.js';
import { remove_device_exclusive_entry } from './rmap.js';
import { hugetlb_fault_locked, zap_hugepage_range } from './hugetlb_fault.js';
import { huge_pte_modify } from './hugetlb_fault.js';
import {
  do_huge_pmd_anonymous_page, do_huge_pmd_wp_page, do_set_pmd, HPAGE_PMD_SIZE, pmd_addr, pmd_none, pmd_trans_huge, split_huge_pmd_range, thp_pmds_in,
  thp_vma_allowable, zap_huge_pmd,
} from './huge_memory.js';
import type { MmEventOf } from './trace_events.js';
import {
  FAULT_FLAG_UNSHARE, FAULT_FLAG_WRITE, PAGE_SIZE, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_FAULT_SIGSEGV, VM_FAULT_WRITE, VM_READ,
  VM_SHARED, VM_WRITE, ZERO_PFN, type VmFault,
} from './types.js';

/** The virtual page number of @addr. */
export function vpn(addr: number): number {
  return Math.floor(addr / PAGE_SIZE);
}

/** set_pte_at() - map @pfn at @addr; the mapping takes a reference and a mapcount. */
export function set_pte_at(k: Kernel, mm: MmStruct, addr: number, pfn: number, bits: number): void {
  const m = k.mem;
  mm.pgtable.set(vpn(addr), mk_pte(pfn, bits));
  // A page of a large folio (a split THP) keeps its own mapcount; the reference is its head's.
  const head = m.folio_head(pfn);
  if (pfn !== ZERO_PFN) {
    m._refcount[head] = m.refcount(head) + 1;
    m._mapcount[pfn] = m.mapcount(pfn) + 1;
  }
  const ev: MmEventOf<'pte_set'> = { type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: addr, pfn, write: (bits & PTE_WRITE) !== 0, refcount: m.refcount(head) };
  if (head !== pfn || m.folio_order(pfn)) ev.head = head;
  k.emit(ev);
}

/**
 * struct mmu_gather (simplified) - the frames a zap unmapped, whose references tlb_finish_mmu()
 * drops once the TLB is flushed. Made by tlb_gather_mmu().
 */
export class MmuGather {
  // 16 entries (64 bytes) live in the JS heap; a larger typed array gets a backing store of its
  // own, which costs more than the few pages most zaps gather. It doubles when full.
  pages = new Int32Array(16);
  nr = 0;
}

/** tlb_gather_mmu() - an empty gather for a zap. Kernel: mm/mmu_gather.c tlb_gather_mmu(). */
export function tlb_gather_mmu(): MmuGather {
  return new MmuGather();
}

/** __tlb_remove_page() - queue @pfn's mapping reference in @tlb. Kernel: mm/mmu_gather.c. */
export function __tlb_remove_page(tlb: MmuGather, pfn: number): void {
  if (tlb.nr === tlb.pages.length) {
    const b = new Int32Array(tlb.pages.length * 2);
    b.set(tlb.pages);
    tlb.pages = b;
  }
  tlb.pages[tlb.nr++] = pfn;
}

/** PTRS_PER_PTE - the entries of one page table: a zap clears at most this many under one lock. */
export const PTRS_PER_PTE = 512;

/**
 * trace_pte_clear() - (pinsim-only) trace the PTEs of @mm cleared from @start on, one page table's
 * worth at most: @pfns[i] was mapped at start + i pages (-1 where nothing was cleared), @dirty[i]
 * its dirty bit. Context: the page table's lock held (one event per lock hold). Return: nothing.
 * Kernel: none (the trace stands for the PTE writes of zap_pte_range()).
 */
export function trace_pte_clear(k: Kernel, mm: MmStruct, start: number, pfns: Int32Array, dirty: Uint8Array): void {
  k.emit({ type: 'pte_clear', time: k.now, actor: k.actorName(), mm: mm.owner, start, end: start + pfns.length * PAGE_SIZE, pfns, dirty });
}

/**
 * zap_present_ptes() - (pinsim-only name) what clearing a PTE means for its folio, once the PTEs of
 * a table are cleared and traced: the mapcount drops, a dirty bit moves to a file folio, and the
 * mapping's reference goes into @gather (dropped by tlb_finish_mmu()).
 * Context: the page table's lock held. Return: nothing.
 * Kernel: mm/memory.c zap_present_ptes(), zap_present_folio_ptes().
 */
function zap_present_ptes(k: Kernel, pfns: Int32Array, dirty: Uint8Array, gather: MmuGather): void {
  const m = k.mem;
  for (let i = 0; i < pfns.length; i++) {
    const pfn = pfns[i] as number;
    if (pfn < 0 || pfn === ZERO_PFN) continue;
    m._mapcount[pfn] = m.mapcount(pfn) - 1;
    if (dirty[i] && m.mappingOf(pfn) > 0) folio_mark_dirty(k, pfn, 'zap_pte_range');
    __tlb_remove_page(gather, pfn);
  }
}

/**
 * ptep_clear() - clear the PTE at @addr: the dirty bit moves to the folio (file pages), the
 * mapcount drops, and the mapping's reference goes into @gather (dropped by tlb_finish_mmu()).
 * Return: the pfn that was mapped, or -1.
 */
export function ptep_clear(k: Kernel, mm: MmStruct, addr: number, gather: MmuGather): number {
  const v = vpn(addr);
  const pte = mm.pgtable.get(v);
  if (!pte_present(pte) && !is_device_private_entry(pte) && !is_device_exclusive_entry(pte)) return -1;
  const pfn = pte_pfn(pte);
  mm.pgtable.set(v, 0);
  const pfns = Int32Array.of(pfn), dirty = Uint8Array.of(pte_dirty(pte) ? 1 : 0);
  trace_pte_clear(k, mm, v * PAGE_SIZE, pfns, dirty);
  zap_present_ptes(k, pfns, dirty, gather);
  return pfn;
}

/** MAX_NR_FOLIOS_PER_FREE - folios the mmu_gather frees in one go, between two cond_resched(). */
export const MAX_NR_FOLIOS_PER_FREE = 512;

/**
 * tlb_finish_mmu() - flush the TLB, then drop the references the zap queued, in batches of
 * MAX_NR_FOLIOS_PER_FREE (each batch's frees one `folio_free` event).
 * Kernel: mm/mmu_gather.c tlb_finish_mmu(), __tlb_batch_free_encoded_pages().
 * Simplified: the cond_resched() between batches is not a scheduling point.
 */
export function tlb_finish_mmu(k: Kernel, gather: MmuGather): void {
  for (let i = 0; i < gather.nr; i += MAX_NR_FOLIOS_PER_FREE) {
    k.folios_put_refs(gather.pages, i, Math.min(gather.nr, i + MAX_NR_FOLIOS_PER_FREE), 1);
  }
  gather.nr = 0;
}

/**
 * zap_pte_range() - clear the present PTEs of @mm in [start, end), which lie in one page table,
 * under its lock; with @only_file, only those mapping page-cache folios (unmap_mapping_range without
 * even_cows keeps private COW copies). One `pte_clear` event for the table, if anything was cleared.
 * Return: number of PTEs cleared.
 * Kernel: mm/memory.c zap_pte_range().
 */
export function zap_pte_range(k: Kernel, mm: MmStruct, start: number, end: number, gather: MmuGather, only_file = false): number {
  let huge = 0;
  const pmds = thp_pmds_in(mm, start, end);
  // zap_huge_pmd(): a THP PMD inside the range goes whole (the callers split the ones it covers in part).
  if (pmds.length && !only_file) {
    for (const haddr of pmds) if (zap_huge_pmd(k, mm, haddr, gather) >= 0) huge++;
    if (pmds.length * HPAGE_PMD_SIZE === end - start) return huge; // nothing but PMDs in the range
  }
  const first = vpn(start), n = vpn(end - 1) - first + 1;
  let pfns: Int32Array | null = null, dirty: Uint8Array | null = null;
  const cleared = mm.pgtable.clearIn(first, first + n - 1, (v, pte) => {
    if (!pte_present(pte) && !is_device_private_entry(pte) && !is_device_exclusive_entry(pte)) return false;
    const pfn = pte_pfn(pte);
    if (only_file && k.mem.mapping[pfn] === MAPPING_ANON) return false;
    if (!pfns || !dirty) {
      const cols = new PageArrays(n, 0, 1, 1);
      pfns = cols.i32(-1);
      dirty = cols.u8();
    }
    pfns[v - first] = pfn;
    if (pte_dirty(pte)) dirty[v - first] = 1;
    return true;
  });
  if (!cleared || !pfns || !dirty) return huge;
  trace_pte_clear(k, mm, start, pfns, dirty);
  zap_present_ptes(k, pfns, dirty, gather);
  return cleared + huge;
}

/**
 * unmap_page_range() - clear the present PTEs of @mm in [start, end) (see zap_pte_range()), one
 * page table at a time, with a scheduling point between two tables: zap_pmd_range()'s
 * cond_resched(); with @resched_first, before the first table too (the caller zapped another VMA
 * just before). Tables never allocated are skipped.
 * Context: mmap_lock or i_mmap_rwsem held; may yield between page tables.
 * Return: number of PTEs cleared.
 * Kernel: mm/memory.c unmap_page_range(), zap_pmd_range().
 */
export function* unmap_page_range(
  k: Kernel, mm: MmStruct, start: number, end: number, gather: MmuGather, only_file = false, resched_first = false,
): Co<number> {
  let n = 0;
  const keys = mm.pgtable.leafKeysIn(vpn(start), vpn(end - 1));
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as number;
    // cond_resched() after the previous table: another thread or a device may run here.
    if (i > 0 || resched_first) yield* schedPoint('zap:cond_resched');
    const lo = Math.max(start, key * PTRS_PER_PTE * PAGE_SIZE), hi = Math.min(end, (key + 1) * PTRS_PER_PTE * PAGE_SIZE);
    n += zap_pte_range(k, mm, lo, hi, gather, only_file);
  }
  return n;
}

/**
 * zap_page_range_single() - unmap [start, end) of @vma: notifier start, zap, notifier end,
 * tlb_finish_mmu. Context: mmap_lock or i_mmap_rwsem held; may sleep.
 * Kernel: mm/memory.c zap_page_range_single() (MMU_NOTIFY_CLEAR), unmap_single_vma(); a hugetlb
 * VMA: mm/hugetlb.c __unmap_hugepage_range_final().
 */
export function* zap_page_range_single(
  k: Kernel, vma: VmAreaStruct, start: number, end: number, event: MmuNotifierEvent = MMU_NOTIFY_CLEAR, only_file = false,
): Co {
  // A hugetlb VMA zaps whole huge pages, its private COW copies included (hugetlb_vmdelete_list()).
  if (vma.vm_huge_order) return yield* zap_hugepage_range(k, vma, start, end, event);
  const mm = vma.vm_mm;
  // zap_pmd_range(): a THP PMD the range covers in part is split first (its own CLEAR over 2 MiB).
  if (!only_file) yield* split_huge_pmd_range(k, mm, start, end);
  const range = mmu_notifier_range_init(k, mm, event, start, end);
  yield* mmu_notifier_invalidate_range_start(k, range);
  // All pages are still mapped here; a device (or another CPU) may access them.
  yield* schedPoint('zap:after_notifier_start');
  const gather = tlb_gather_mmu();
  const n = yield* unmap_page_range(k, mm, start, end, gather, only_file);
  // PTEs cleared, references still queued in the gather: not freed yet.
  yield* delay(n * k.timing.zapPerPage, 'zap:ptes_cleared');
  yield* mmu_notifier_invalidate_range_end(k, range);
  tlb_finish_mmu(k, gather);
}

/**
 * unmap_mapping_range() - zap every mapping of the file pages from byte @holebegin for @holelen
 * bytes (0 = to the end), in every VMA that maps them; @even_cows zaps private COW copies too.
 * Kernel: mm/memory.c unmap_mapping_range(), unmap_mapping_range_tree().
 */
export function* unmap_mapping_range(k: Kernel, mapping: AddressSpace, holebegin: number, holelen: number, even_cows: boolean): Co {
  const first = Math.floor(holebegin / PAGE_SIZE);
  const last = holelen === 0 ? Infinity : first + Math.ceil(holelen / PAGE_SIZE) - 1;
  // The walk holds i_mmap_rwsem in the kernel, so a VMA linked into i_mmap concurrently (fork's
  // child, under the parent's mmap_lock) is linked either before the walk or after it. The model's
  // walk sleeps between VMAs: it re-reads i_mmap at each step and also visits a VMA linked meanwhile
  // (fork may have copied the parent's PTEs into it already), and skips one unlinked meanwhile.
  const order = (a: VmAreaStruct, b: VmAreaStruct): number => a.vm_mm.id - b.vm_mm.id || a.vm_start - b.vm_start;
  const visited = new Set<VmAreaStruct>();
  for (;;) {
    let vma: VmAreaStruct | undefined;
    for (const v of mapping.i_mmap) if (!visited.has(v) && (vma === undefined || order(v, vma) < 0)) vma = v;
    if (vma === undefined) break;
    visited.add(vma);
    const npages = (vma.vm_end - vma.vm_start) / PAGE_SIZE;
    const vfirst = Math.max(first, vma.vm_pgoff), vlast = Math.min(last, vma.vm_pgoff + npages - 1);
    if (vfirst > vlast) continue;
    const start = vma.vm_start + (vfirst - vma.vm_pgoff) * PAGE_SIZE;
    const end = vma.vm_start + (vlast - vma.vm_pgoff + 1) * PAGE_SIZE;
    const shared = (vma.vm_flags & VM_SHARED) !== 0;
    yield* zap_page_range_single(k, vma, start, end, MMU_NOTIFY_CLEAR, !shared && !even_cows);
  }
}

/** A fresh anonymous page: exclusive to the process that maps it (page_add_new_anon_rmap()). */
function alloc_anon_page(k: Kernel, vma: VmAreaStruct, addr: number, content: number): number {
  const pfn = alloc_user_page(k);
  if (pfn < 0) return -1;
  k.mem.mapping[pfn] = MAPPING_ANON;
  k.mem.index[pfn] = vpn(addr);
  k.mem.content[pfn] = content;
  SetPageAnonExclusive(k, pfn);
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn, gen: k.mem.genOf(pfn), owner: `anon:${vma.vm_mm.owner}`, file: '', index: -1 });
  return pfn;
}

/**
 * wp_page_copy() - break COW at @addr: a new anonymous page with the old content replaces the PTE,
 * under an MMU_NOTIFY_CLEAR for the page. A write maps it dirty (writable where the VMA allows: a
 * FOLL_FORCE write of a read-only VMA gets a dirty read-only PTE); an unshare fault (@unshare) maps
 * it read-only and clean. Kernel: mm/memory.c wp_page_copy(), maybe_mkwrite().
 */
function* wp_page_copy(k: Kernel, vma: VmAreaStruct, addr: number, old_pfn: number, unshare: boolean): Co<number> {
  const mm = vma.vm_mm;
  const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const npfn = alloc_anon_page(k, vma, addr, old_pfn === ZERO_PFN ? 0 : k.mem.contentOf(old_pfn));
  if (npfn < 0) return VM_FAULT_OOM;
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, page, page + PAGE_SIZE);
  yield* mmu_notifier_invalidate_range_start(k, range);
  const gather = tlb_gather_mmu();
  ptep_clear(k, mm, page, gather);
  set_pte_at(k, mm, page, npfn, unshare ? 0 : (vma.vm_flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY);
  yield* mmu_notifier_invalidate_range_end(k, range);
  tlb_finish_mmu(k, gather);
  return unshare ? 0 : VM_FAULT_WRITE;
}

/**
 * wp_can_reuse_anon() - may the write-protected anonymous page @pfn be reused in place, as this
 * era's do_wp_page() decides? ≤ 5.8 reuse_swap_page(): mapped once, whatever else references it
 * (so a GUP holder keeps seeing the writer's data: CVE-2020-29374); 5.9–5.18: the refcount shows a
 * sole holder (any GUP reference makes the write copy); 5.19+: PageAnonExclusive, or else a sole
 * holder. Kernel: mm/memory.c do_wp_page() (4.20: reuse_swap_page(); 5.9: 09854ba94c6a; 5.19:
 * 6c287605fd56).
 */
function wp_can_reuse_anon(k: Kernel, pfn: number): boolean {
  const m = k.mem;
  // A page of a PTE-mapped THP: its mappings are its own and the folio's entire ones; its
  // references are the folio's (so a sole holder is never seen while other pages are mapped), and
  // 5.19+ reuses one only while it is PageAnonExclusive (wp_can_reuse_anon_folio() refuses large folios).
  const head = m.folio_head(pfn);
  switch (k.features.wp_reuse) {
    case 'mapcount': return m.mapcount(pfn) + (m.folio_order(pfn) ? m.folio_entire_mapcount(head) : 0) === 1;
    case 'refcount': return m.refcount(head) === 1;
    case 'anon_exclusive': return PageAnonExclusive(k, pfn) || (m.folio_order(pfn) === 0 && m.refcount(pfn) === 1);
  }
}

/**
 * do_wp_page() - a write (or an unshare) fault on the present, write-protected PTE @pte of a
 * private mapping: reuse the anonymous page if the era's rule allows (marking it exclusive), else
 * copy it; the zero page and page-cache pages are always copied. A copy of a page mapped once is
 * traced (`cow_copy`): that is where the era's rule, not the mapcount, decided.
 * Return: VM_FAULT_WRITE when COW was broken for a write (reuse or copy), 0 for an unshare,
 * VM_FAULT_OOM. Kernel: mm/memory.c do_wp_page(), wp_page_reuse(), page_move_anon_rmap().
 */
function* do_wp_page(k: Kernel, vma: VmAreaStruct, page: number, pte: number, unshare: boolean): Co<number> {
  const mm = vma.vm_mm;
  const pfn = pte_pfn(pte);
  if (pfn !== ZERO_PFN && k.is_anon(pfn)) {
    if (wp_can_reuse_anon(k, pfn)) {
      SetPageAnonExclusive(k, pfn);
      if (unshare) return 0; // now exclusive; the PTE stays read-only
      mm.pgtable.set(vpn(page), mk_pte(pfn, (vma.vm_flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY));
      return VM_FAULT_WRITE;
    }
    const m = k.mem;
    // A page of a large folio is also mapped by every PMD that maps its folio whole.
    const large = m.folio_order(pfn) !== 0;
    if (m._mapcount[pfn] === 1 && (!large || m.folio_entire_mapcount(m.folio_head(pfn)) === 0)) {
      k.emit({
        type: 'cow_copy', time: k.now, actor: k.actorName(), mm: mm.owner, va: page, pfn, refcount: m.refcount(m.folio_head(pfn)),
        mapcount: 1, exclusive: PageAnonExclusive(k, pfn), rule: k.features.wp_reuse, unshare,
      });
    }
  }
  return yield* wp_page_copy(k, vma, page, pfn, unshare);
}

/**
 * handle_mm_fault() - resolve a fault at @addr in @vma.
 * Context: mmap_lock held for read; may sleep (the fault takes `timing.fault`).
 * Return: 0, VM_FAULT_SIGBUS (file page beyond EOF), VM_FAULT_SIGSEGV (access the VMA does not
 * allow; @force lets a write break COW in a private mapping without VM_WRITE, as GUP's FOLL_FORCE
 * does), VM_FAULT_OOM.
 * Kernel: mm/memory.c handle_mm_fault(), do_anonymous_page(), do_read_fault(), do_cow_fault(),
 * do_shared_fault(), do_wp_page().
 */
export function* handle_mm_fault(k: Kernel, vma: VmAreaStruct, addr: number, flags: number, force = false): Co<VmFault> {
  return ((yield* __handle_mm_fault(k, vma, addr, flags, force)) & ~VM_FAULT_WRITE) as VmFault;
}

/**
 * __handle_mm_fault() - handle_mm_fault() for GUP's faultin_page(): the result may also carry
 * VM_FAULT_WRITE (do_wp_page() broke COW), and @flags may be FAULT_FLAG_UNSHARE (5.19+: make a
 * possibly shared page exclusive, the PTE staying read-only; no VM_WRITE needed).
 */
export function* __handle_mm_fault(k: Kernel, vma: VmAreaStruct, addr: number, flags: number, force = false): Co<number> {
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  const unshare = (flags & FAULT_FLAG_UNSHARE) !== 0;
  const mm = vma.vm_mm;
  const page = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const cow = is_cow_mapping(vma.vm_flags);
  if (write && !(vma.vm_flags & VM_WRITE) && !(force && cow)) return VM_FAULT_SIGSEGV;
  if (!write && !(vma.vm_flags & VM_READ) && !force) return VM_FAULT_SIGSEGV;
  // The fault itself takes time, during which others run (and may change the page tables).
  yield* delay(k.timing.fault, 'fault:enter');
  const ret = vma.vm_huge_order
    ? yield* hugetlb_fault_locked(k, vma, page, write, unshare)
    : yield* fault_locked(k, vma, page, mm.pgtable.get(vpn(page)), write, unshare, cow);
  const bad = ret & (VM_FAULT_SIGBUS | VM_FAULT_OOM | VM_FAULT_SIGSEGV);
  k.emit({ type: 'fault', time: k.now, actor: k.actorName(), mm: mm.owner, va: page, write, result: !bad ? 'ok' : bad === VM_FAULT_SIGBUS ? 'SIGBUS' : bad === VM_FAULT_OOM ? 'OOM' : 'SIGSEGV' });
  return ret;
}

function* fault_locked(k: Kernel, vma: VmAreaStruct, page: number, pte: number, write: boolean, unshare: boolean, cow: boolean): Co<number> {
  const mm = vma.vm_mm;
  const has_file = vma.vm_file !== null;
  const vm_write = (vma.vm_flags & VM_WRITE) !== 0;
  if (is_device_exclusive_entry(pte)) {
    // The device loses its exclusive access; the CPU gets its PTE back, then the access retries.
    yield* remove_device_exclusive_entry(k, vma, page, pte);
    return yield* fault_locked(k, vma, page, mm.pgtable.get(vpn(page)), write, unshare, cow);
  }
  if (is_device_private_entry(pte)) {
    // do_swap_page(): the page is in device memory; its owner migrates it back to RAM.
    const owner = k.pgmaps.owner.get(pte_pfn(pte));
    const ops = owner === undefined ? undefined : k.pgmaps.ops.get(owner);
    if (!ops) return VM_FAULT_SIGBUS;
    const ret = yield* ops.migrate_to_ram(vma, page);
    if (ret) return ret;
    const now = mm.pgtable.get(vpn(page));
    return pte_present(now) ? yield* fault_locked(k, vma, page, now, write, unshare, cow) : 0;
  }
  if (pte_present(pte)) {
    // A racing fault may have done the work already.
    if ((!write && !unshare) || pte_write(pte)) return 0;
    const pfn = pte_pfn(pte);
    if (!has_file && pmd_trans_huge(mm, page)) {
      // do_huge_pmd_wp_page(): done at the PMD, or the PMD was split and the page is a PTE now.
      const r = yield* do_huge_pmd_wp_page(k, vma, pmd_addr(page), unshare);
      if (r !== null) return r;
      return yield* fault_locked(k, vma, page, mm.pgtable.get(vpn(page)), write, unshare, cow);
    }
    if (!cow) {
      if (unshare) return 0; // nothing to unshare in a shared mapping
      // wp_page_shared(): a shared file page becomes writable through page_mkwrite (a PMD: whole).
      do_page_mkwrite(k, pfn);
      if (mm.huge_pmds.size && pmd_trans_huge(mm, page)) huge_pte_modify(k, mm, pmd_addr(page), PTE_WRITE | PTE_DIRTY);
      else mm.pgtable.set(vpn(page), mk_pte(pfn, PTE_WRITE | PTE_DIRTY));
      return 0;
    }
    return yield* do_wp_page(k, vma, page, pte, unshare);
  }
  // No PTE: an unshare fault that lost a race to a zap is a read fault (GUP then looks again).
  if (!has_file) {
    // A THP where the VMA allows one and nothing is mapped in its 2 MiB (no page table under the
    // PMD); with no aligned block of 512 free frames, 4 KiB pages.
    const haddr = pmd_addr(page);
    if (k.thp !== 'never' && thp_vma_allowable(k, vma, haddr) && pmd_none(mm, haddr)) {
      if (do_huge_pmd_anonymous_page(k, vma, haddr, write) !== null) return 0;
    }
    // do_anonymous_page(): the zero page for reads, a new zeroed page for writes (dirty and
    // writable only where the VMA is writable: a FOLL_FORCE write of a read-only VMA gets neither).
    if (!write) {
      set_pte_at(k, mm, page, ZERO_PFN, 0);
      return 0;
    }
    const pfn = alloc_anon_page(k, vma, page, 0);
    if (pfn < 0) return VM_FAULT_OOM;
    set_pte_at(k, mm, page, pfn, vm_write ? PTE_WRITE | PTE_DIRTY : 0);
    return 0;
  }
  const file = vma.vm_file!;
  const index = vma.linear_page_index(page);
  if (index_beyond_eof(file, index)) return VM_FAULT_SIGBUS;
  const pfn = filemap_read_folio(k, file, index);
  if (pfn < 0) return VM_FAULT_OOM;
  if (cow) {
    // do_cow_fault(): finish_fault() returns 0, not VM_FAULT_WRITE, though the copy is dirty.
    if (write) return (yield* wp_page_copy(k, vma, page, pfn, false)) & ~VM_FAULT_WRITE;
    set_pte_at(k, mm, page, pfn, 0);
    return 0;
  }
  if (write) {
    do_page_mkwrite(k, pfn); // do_shared_fault()
    if (k.mem.folio_order(pfn) && do_set_pmd(k, vma, pmd_addr(page), pfn, PTE_WRITE | PTE_DIRTY)) return 0;
    set_pte_at(k, mm, page, pfn, PTE_WRITE | PTE_DIRTY);
    return 0;
  }
  // do_read_fault(): writable at once only where no dirty tracking is needed (tmpfs).
  const bits = vm_write && !vma_needs_dirty_tracking(vma) ? PTE_WRITE : 0;
  if (k.mem.folio_order(pfn) && do_set_pmd(k, vma, pmd_addr(page), pfn, bits)) return 0;
  set_pte_at(k, mm, page, pfn, bits);
  return 0;
}

