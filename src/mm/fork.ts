/**
 * fork(): dup_mmap() copies every VMA but VM_DONTCOPY ones (MADV_DONTFORK), and copy_page_range()
 * shares the anonymous pages of private mappings copy-on-write, under MMU_NOTIFY_PROTECTION_PAGE on
 * the parent. From 5.9 a page that may be DMA-pinned (MMF_HAS_PINNED and folio_maybe_dma_pinned)
 * is copied for the child at once, so the parent keeps its writable, pinned page; before 5.9 both
 * are write-protected and the parent's next write COWs it *away* from the page the device holds —
 * the classic RDMA + fork corruption, until 5.9 copies maybe-pinned pages for the child. From 5.19
 * sharing a page clears its PageAnonExclusive.
 * hugetlb VMAs are always copied, shared ones included (copy_hugetlb_page_range()); the child owns
 * no reservation of a private one.
 * Kernel: kernel/fork.c dup_mmap(); mm/memory.c copy_page_range(), copy_present_pte(),
 * copy_present_page(); include/linux/mm.h folio_needs_cow_for_dma(); mm/hugetlb.c
 * copy_hugetlb_page_range().
 * Device-private pages stay on the device, shared read-only by parent and child
 * (copy_nonpresent_pte()); device-exclusive entries are restored first.
 * Simplified: shared mappings are not copied (the child faults them in), no anon_vma chains.
 */
import { schedPoint, delay, type Co } from '../engine/actor.js';
import type { Kernel, Process } from './kernel.js';
import { down_write, up_write } from './locking.js';
import { MAPPING_ANON } from './mem_map.js';
import { set_pte_at, vpn } from './memory.js';
import {
  is_cow_mapping, is_device_exclusive_entry, is_device_private_entry, mk_devpriv_pte, mk_pte, pte_dirty, pte_pfn, pte_present, pte_write, PTE_DIRTY,
  PTE_WRITE, VmAreaStruct, type MmStruct,
} from './mm_types.js';
import { exit_mmap } from './exit.js';
import { copy_huge_pmd, pmd_trans_huge } from './huge_memory.js';
import { copy_hugetlb_page_range } from './hugetlb_fault.js';
import { insert_vma } from './mmap.js';
import { alloc_user_page } from './mmzone.js';
import { ClearPageAnonExclusive, folio_maybe_dma_pinned, PageAnonExclusive, SetPageAnonExclusive } from './page-flags.js';
import { remove_device_exclusive_entry } from './rmap.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_PROTECTION_PAGE,
} from './mmu_notifier.js';
import { PAGE_SIZE, VM_DONTCOPY, VM_WRITE, ZERO_PFN } from './types.js';

export { folio_maybe_dma_pinned } from './page-flags.js';

/** folio_needs_cow_for_dma() - fork must copy this page for the child now (5.9+). */
function folio_needs_cow_for_dma(k: Kernel, parent: Process, pfn: number): boolean {
  return k.features.fork_copies_pinned && parent.mm.has_pinned && folio_maybe_dma_pinned(k, pfn);
}

/**
 * page_try_dup_anon_rmap() - may fork share the parent's anonymous page @pfn with the child? Not
 * when it may be DMA-pinned (5.9+; from 5.19 only an exclusive page can be pinned, so only an
 * exclusive one is checked). Sharing clears PageAnonExclusive (5.19+).
 * Return: true when shared, false when the child must get a copy.
 * Kernel: include/linux/rmap.h page_try_dup_anon_rmap() (5.19); mm/memory.c copy_present_pte()
 * (5.9: 70e806e4e645).
 */
function page_try_dup_anon_rmap(k: Kernel, parent: Process, pfn: number): boolean {
  if (k.features.anon_exclusive && !PageAnonExclusive(k, pfn)) return true;
  if (folio_needs_cow_for_dma(k, parent, pfn)) return false;
  ClearPageAnonExclusive(k, pfn);
  return true;
}

/**
 * copy_device_private_entry() - fork keeps a device-private page on the device: the child gets the
 * same device-private entry, both read-only (a writable one is made readable in the parent too), so
 * the first CPU write of either faults: the page migrates back to RAM (the owner's migrate_to_ram),
 * then COW. The page gains a reference and a mapping; it cannot be pinned, so it is always shared.
 * Context: both mmap_locks held, the parent's PROTECTION_PAGE notifier open; no sleep.
 * Return: nothing. Kernel: mm/memory.c copy_nonpresent_pte() (is_device_private_entry branch).
 */
function copy_device_private_entry(k: Kernel, pmm: MmStruct, cmm: MmStruct, v: number, pte: number, child_name: string): void {
  const pfn = pte_pfn(pte);
  const m = k.mem;
  m._refcount[pfn] = m.refcount(pfn) + 1;
  m._mapcount[pfn] = m.mapcount(pfn) + 1;
  ClearPageAnonExclusive(k, pfn);
  if (pte_write(pte)) pmm.pgtable.set(v, mk_devpriv_pte(pfn, false));
  cmm.pgtable.set(v, mk_devpriv_pte(pfn, false));
  k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: child_name, va: v * PAGE_SIZE, pfn, write: false, refcount: m.refcount(pfn) });
}

/**
 * do_fork() - the child process @child_name with a copy of @parent's address space.
 * Context: takes the parent's mmap_lock for write; may sleep. Return: the child, or null when
 * memory ran out while copying a pinned page (the fork fails with ENOMEM).
 */
export function* do_fork(k: Kernel, parent: Process, child_name: string): Co<Process | null> {
  yield* delay(k.timing.syscall, 'fork:enter');
  const child = k.create_process(child_name, parent.memlock, parent.capIpcLock);
  const pmm = parent.mm, cmm = child.mm;
  yield* down_write(pmm.mmap_lock, k.actorName(), 'fork:mmap_write_lock');
  const fail = function* (): Co<null> {
    up_write(pmm.mmap_lock);
    // The fork fails: the half-built child goes away and no thread of it ever runs.
    yield* exit_mmap(k, cmm);
    k.processes.delete(child_name);
    return null;
  };
  for (const vma of [...pmm.vmas]) {
    if (vma.vm_flags & VM_DONTCOPY) continue;
    const nvma = new VmAreaStruct(cmm, vma.vm_start, vma.vm_end, vma.vm_pgoff, vma.vm_flags, vma.vm_file);
    // hugetlb_dup_vma_private(): the child's VMA owns no reservation.
    nvma.vm_huge_order = vma.vm_huge_order;
    insert_vma(k, cmm, nvma);
    if (vma.vm_huge_order) {
      if (!(yield* copy_hugetlb_page_range(k, parent, nvma, vma))) return yield* fail();
      continue;
    }
    if (!is_cow_mapping(vma.vm_flags)) continue;
    // copy_nonpresent_pte(): a device-exclusive entry is restored first and copied like any page.
    const exclusive: number[] = [];
    pmm.pgtable.forEachIn(vpn(vma.vm_start), vpn(vma.vm_end - 1), (v, pte) => {
      if (is_device_exclusive_entry(pte)) exclusive.push(v);
    });
    for (const v of exclusive) {
      // Each step may sleep: read the entry afresh, a racing truncate may have zapped it.
      const pte = pmm.pgtable.get(v);
      if (is_device_exclusive_entry(pte)) yield* remove_device_exclusive_entry(k, vma, v * PAGE_SIZE, pte);
    }
    const entries = (): number[] => {
      const vs: number[] = [];
      pmm.pgtable.forEachIn(vpn(vma.vm_start), vpn(vma.vm_end - 1), (v) => { vs.push(v); });
      return vs;
    };
    if (!entries().length) continue;
    const range = mmu_notifier_range_init(k, pmm, MMU_NOTIFY_PROTECTION_PAGE, vma.vm_start, vma.vm_end);
    yield* mmu_notifier_invalidate_range_start(k, range);
    // The parent's PTEs are about to be write-protected; a device may still be faulting, and a
    // truncate (which does not take mmap_lock) may zap PTEs of this VMA meanwhile.
    yield* schedPoint('fork:after_notifier_start');
    // copy_pte_range(): from here to the end of the loop nothing sleeps, as if under both page-table
    // locks: each parent PTE is read at the moment it is copied, and the child's PTE takes its own
    // reference. The child's VMA is already in the file's i_mmap (insert_vma above), so a truncate
    // that zaps after the copy zaps the child's PTEs too.
    // copy_huge_pmd(): THP PMDs first, shared whole or (a maybe-pinned THP, 5.9+) split for the PTE copy below.
    if (pmm.huge_pmds.size) copy_huge_pmd(k, parent, nvma, vma);
    const now = entries();
    for (const v of now) {
      const pte = pmm.pgtable.get(v);
      if (is_device_private_entry(pte)) {
        copy_device_private_entry(k, pmm, cmm, v, pte, child_name);
        continue;
      }
      if (!pte_present(pte) || (pmm.huge_pmds.size && pmd_trans_huge(pmm, v * PAGE_SIZE))) continue;
      const pfn = pte_pfn(pte), va = v * PAGE_SIZE;
      const anon = pfn !== ZERO_PFN && k.mem.mapping[pfn] === MAPPING_ANON;
      if (anon && !page_try_dup_anon_rmap(k, parent, pfn)) {
        // copy_present_page(): the child gets its own copy; the parent keeps the pinned page.
        const npfn = alloc_user_page(k);
        if (npfn < 0) {
          yield* mmu_notifier_invalidate_range_end(k, range);
          return yield* fail();
        }
        k.mem.mapping[npfn] = MAPPING_ANON;
        k.mem.index[npfn] = v;
        k.mem.content[npfn] = k.mem.contentOf(pfn);
        SetPageAnonExclusive(k, npfn);
        k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: npfn, gen: k.mem.genOf(npfn), owner: `anon:${child_name}`, file: '', index: -1 });
        set_pte_at(k, cmm, va, npfn, (vma.vm_flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY);
        continue;
      }
      // Share the page copy-on-write: both PTEs read-only. The parent's PTE is the one just read,
      // still mapping @pfn (its reference unchanged), only write-protected.
      if (anon) pmm.pgtable.set(v, mk_pte(pfn, pte_dirty(pte) ? PTE_DIRTY : 0));
      set_pte_at(k, cmm, va, pfn, 0);
    }
    yield* delay(now.length * k.timing.zapPerPage, 'fork:ptes_copied');
    yield* mmu_notifier_invalidate_range_end(k, range);
  }
  up_write(pmm.mmap_lock);
  return child;
}
