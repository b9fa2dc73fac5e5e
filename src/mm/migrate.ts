/**
 * migrate_pages() as NUMA balancing or move_pages(2) do it: for each page, unmap it with
 * MMU_NOTIFY_CLEAR first (notifier devices drop their translations), then check the reference
 * count against what the mappings and the page cache account for. A page with another reference (a
 * DMA pin) cannot move: its mapping is restored and the call reports EBUSY. Otherwise a new frame
 * gets the content and takes the old one's place in the page cache or the page table.
 * A huge page moves whole, to a huge page of its pool (or a temporary one outside it): its entry is
 * cleared over the whole huge page and the same reference check decides.
 * Kernel: mm/migrate.c migrate_pages(), migrate_folio_unmap(), folio_migrate_mapping() (the refcount
 * check), remove_migration_ptes(), unmap_and_move_huge_page(); mm/hugetlb.c
 * alloc_hugetlb_folio_nodemask(), move_hugetlb_state(). Simplified: one pass (no 10 retries), this
 * mm's mappings only; no migration entries (the cleared PTE stays empty, and is restored only while
 * still empty); a folio that left the range while migrate slept is not moved.
 */
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, pmd_addr, pmd_trans_huge, set_pmd_at, zap_huge_pmd } from './huge_memory.js';
import { HPAGE_PMD_ORDER } from './hugetlb.js';
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EBUSY, EINVAL, ENOMEM, type Errno } from './errno.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { down_read, up_read } from './locking.js';
import { MAPPING_ANON } from './mem_map.js';
import { alloc_user_page } from './mmzone.js';
import { ptep_clear, set_pte_at, tlb_finish_mmu, tlb_gather_mmu, vpn } from './memory.js';
import { alloc_hugetlb_folio_nodemask, move_hugetlb_state } from './hugetlb.js';
import { hstate_vma, huge_ptep_get_and_clear, set_huge_pte_at, vma_huge_size } from './hugetlb_fault.js';
import { find_vma, type VmAreaStruct } from './mm_types.js';
import { pte_dirty, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE, type MmStruct } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR,
} from './mmu_notifier.js';
import { PAGE_ALIGN, PAGE_SIZE, ZERO_PFN } from './types.js';

/**
 * do_migrate_pages() - move every present page of [start, start + len) in @mm to a new frame.
 * Context: takes mmap_lock for read; sleeps (notifiers, the copy).
 * Return: 0 when every page moved (or left the range while migrate slept); EBUSY when some could not;
 * ENOMEM when no frame was free; EINVAL unaligned.
 */
export function* do_migrate_pages(k: Kernel, mm: MmStruct, start: number, len: number): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'migrate:enter');
  if (start % PAGE_SIZE !== 0) return EINVAL;
  const end = start + PAGE_ALIGN(len);
  let err: 0 | Errno = 0;
  yield* down_read(mm.mmap_lock, 'migrate:mmap_read_lock');
  for (let va = start; va < end; va += PAGE_SIZE) {
    const pte = mm.pgtable.get(vpn(va));
    if (!pte_present(pte) || pte_pfn(pte) === ZERO_PFN) continue;
    const old = pte_pfn(pte);
    const m = k.mem;
    const hvma = m.folio_order(old) ? find_vma(mm, va) : null;
    if (hvma?.vm_huge_order) {
      // The huge page moves whole; the walk goes on after it.
      const size = vma_huge_size(hvma), haddr = Math.floor(va / size) * size;
      const head = m.folio_head(old);
      k.folio_ref_add(head, 1);
      const r = yield* migrate_hugetlb_one(k, hvma, haddr, head);
      migrate_folio_done(k, head);
      if (r === 'moved') yield* delay(k.timing.fault, 'migrate:page_copied');
      else if (r !== 0) err = r;
      va = haddr + size - PAGE_SIZE;
      continue;
    }
    // Simplified: a large page-cache folio (folioSize) is not migrated.
    if (m.folio_order(old) && m.mapping[old] !== MAPPING_ANON) { err = EBUSY; continue; }
    if (m.folio_order(old)) {
      // An anonymous THP: mapped whole by its PMD, it moves whole, as a huge page does. Simplified:
      // a PTE-mapped (split) one is not moved (the kernel would move or split it): EBUSY.
      if (!pmd_trans_huge(mm, va)) { err = EBUSY; continue; }
      const haddr = pmd_addr(va), head = m.folio_head(old);
      k.folio_ref_add(head, 1);
      const r = yield* migrate_hugetlb_one(k, find_vma(mm, va) as VmAreaStruct, haddr, head, true);
      migrate_folio_done(k, head);
      if (r === 'moved') yield* delay(k.timing.fault, 'migrate:page_copied');
      else if (r !== 0) err = r;
      va = haddr + HPAGE_PMD_SIZE - PAGE_SIZE;
      continue;
    }
    const inode = m.mappingOf(old) > 0 ? (k.inodeById[m.mappingOf(old)] as Inode) : null;
    if (!inode && m.mapping[old] !== MAPPING_ANON) continue;
    // Isolation: migrate holds its own reference on the folio until it is done with it, so nothing
    // (reclaim, truncate, a zap) can free the frame under it. Pairs with migrate_folio_done().
    k.folio_ref_add(old, 1);
    const r = yield* migrate_one(k, mm, va, old, inode);
    migrate_folio_done(k, old);
    if (r === 'moved') yield* delay(k.timing.fault, 'migrate:page_copied');
    else if (r !== 0) err = r;
  }
  up_read(mm.mmap_lock);
  return err;
}

/** migrate_folio_done() - drop the isolation reference; the last one frees the old frame. */
function migrate_folio_done(k: Kernel, old: number): void {
  k.folio_put_refs(old, 1);
}

/**
 * migrate_one() - unmap the folio @old at @va, check its references, and move it or put it back.
 * Context: the caller holds a reference on @old (isolation), so @old stays allocated throughout;
 * every PTE read after a sleep is read again, the way the kernel rereads under the PTL.
 * Return: 'moved' (the copy's time is the caller's), 0 (no longer mapped here), EBUSY (extra references, or the PTE was refilled
 * while migrate slept), ENOMEM.
 */
function* migrate_one(k: Kernel, mm: MmStruct, va: number, old: number, inode: Inode | null): Co<'moved' | 0 | Errno> {
  const m = k.mem;
  // try_to_migrate_one(): the notifier fires before the reference check.
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, va, va + PAGE_SIZE);
  yield* mmu_notifier_invalidate_range_start(k, range);
  yield* schedPoint('migrate:after_notifier_start');
  // Under the PTL: unmap only if the PTE still maps this folio (reclaim, a zap or a COW may have
  // replaced or cleared it while migrate slept). Its bits are taken now, not before the sleep.
  const pte = mm.pgtable.get(vpn(va));
  const gather = tlb_gather_mmu();
  const mapped = pte_present(pte) && pte_pfn(pte) === old;
  if (mapped) ptep_clear(k, mm, va, gather);
  yield* mmu_notifier_invalidate_range_end(k, range);
  // Simplified: a folio no longer mapped here has left the range; there is nothing of @mm to move.
  if (!mapped) return 0;
  const bits = (pte_write(pte) ? PTE_WRITE : 0) | (pte_dirty(pte) ? PTE_DIRTY : 0);
  // remove_migration_ptes() replaces only a migration entry still there. pinsim has no migration
  // entries: the PTE migrate cleared must still be empty; a fault that refilled it wins.
  if (mm.pgtable.get(vpn(va)) !== 0) {
    tlb_finish_mmu(k, gather);
    return EBUSY;
  }
  // A file folio truncated while migrate slept is not restored nor moved: its mapping is gone.
  const cached = inode !== null && m.mapping[old] === inode.id;
  if (inode && !cached) {
    tlb_finish_mmu(k, gather);
    return 0;
  }
  // folio_migrate_mapping(): page cache + mappings + the unmap's queued reference + isolation.
  const expected = (cached ? 1 : 0) + m.mapcount(old) + gather.nr + 1;
  if (m.refcount(old) !== expected) {
    // folio_migrate_mapping() refuses: restore the original mapping.
    set_pte_at(k, mm, va, old, bits);
    tlb_finish_mmu(k, gather);
    return EBUSY;
  }
  const npfn = alloc_user_page(k);
  if (npfn < 0) {
    set_pte_at(k, mm, va, old, bits);
    tlb_finish_mmu(k, gather);
    return ENOMEM;
  }
  m.content[npfn] = m.contentOf(old);
  m.flags[npfn] = m.flagsOf(old);
  m.mapping[npfn] = m.mappingOf(old);
  m.index[npfn] = m.indexOf(old);
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: npfn, gen: m.genOf(npfn), owner: inode ? 'file' : `anon:${mm.owner}`, file: inode?.name ?? '', index: inode ? m.indexOf(old) : -1 });
  if (inode) migrate_page_cache(k, inode, old, npfn, 1);
  k.emit({ type: 'folio_migrate', time: k.now, actor: k.actorName(), old, new: npfn, mm: mm.owner, va });
  set_pte_at(k, mm, va, npfn, bits);
  tlb_finish_mmu(k, gather);
  return 'moved';
}

/**
 * migrate_page_cache() - the page cache's reference moves from the folio at @old to the one at @nw
 * (@nr pages each): every page's entry names its page in the new folio, as every page's slot of a
 * large folio does.
 * Kernel: mm/migrate.c __folio_migrate_mapping() (each page's xarray slot stored).
 */
function migrate_page_cache(k: Kernel, inode: Inode, old: number, nw: number, nr: number): void {
  const m = k.mem;
  const index = m.indexOf(old);
  inode.i_mapping.i_pages.setRun(index, nr, nw + 1, 1);
  m._refcount[nw] = 1;
  k.emit({
    type: 'filemap_remove', time: k.now, actor: k.actorName(), file: inode.name, reason: 'migrate', indices: Float64Array.of(index),
    pfns: Int32Array.of(old), refcounts: Int32Array.of(m.refcount(old) - 1), pincounts: Int32Array.of(m.pincount(old)),
    ...(nr > 1 ? { nrs: Int32Array.of(nr) } : {}),
  });
  k.emit({ type: 'filemap_add', time: k.now, actor: k.actorName(), file: inode.name, index, pfn: nw, gen: m.genOf(nw), refcount: 1, ...(nr > 1 ? { nr } : {}) });
  k.folio_put_refs(old, 1);
}

/** A 2 MiB folio to migrate a THP into (from ZONE_MOVABLE unless memalloc_pin). Return: its head or -1. */
function alloc_thp_target(k: Kernel): number {
  const head = k.alloc.alloc_pages(HPAGE_PMD_ORDER);
  if (head >= 0) k.movable.add(head, HPAGE_PMD_NR);
  return head;
}

/**
 * migrate_hugetlb_one() - unmap the huge page @old at @haddr of @vma, check its references, and
 * move it to another huge page (outside ZONE_MOVABLE under memalloc_pin) or put it back.
 * Context: the caller holds an isolation reference on @old. Return: as migrate_one().
 * Kernel: mm/migrate.c unmap_and_move_huge_page(), migrate_huge_page_move_mapping().
 */
function* migrate_hugetlb_one(k: Kernel, vma: VmAreaStruct, haddr: number, old: number, thp = false): Co<'moved' | 0 | Errno> {
  const m = k.mem;
  const mm = vma.vm_mm;
  const h = thp ? { size: HPAGE_PMD_SIZE, nr: HPAGE_PMD_NR } : hstate_vma(k, vma);
  const set_entry = thp ? set_pmd_at : set_huge_pte_at;
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, haddr, haddr + h.size);
  yield* mmu_notifier_invalidate_range_start(k, range);
  yield* schedPoint('migrate:after_notifier_start');
  const pte = mm.pgtable.get(vpn(haddr));
  const gather = tlb_gather_mmu();
  const mapped = pte_present(pte) && m.folio_head(pte_pfn(pte)) === old;
  if (mapped) {
    if (thp) zap_huge_pmd(k, mm, haddr, gather);
    else huge_ptep_get_and_clear(k, mm, haddr, gather);
  }
  yield* mmu_notifier_invalidate_range_end(k, range);
  if (!mapped) return 0;
  const bits = (pte_write(pte) ? PTE_WRITE : 0) | (pte_dirty(pte) ? PTE_DIRTY : 0);
  const inode = m.mappingOf(old) > 0 ? (k.inodeById[m.mappingOf(old)] as Inode) : null;
  const restore = (err: Errno): Errno => {
    set_entry(k, mm, haddr, old, bits);
    tlb_finish_mmu(k, gather);
    return err;
  };
  if (mm.pgtable.get(vpn(haddr)) !== 0) {
    tlb_finish_mmu(k, gather);
    return EBUSY;
  }
  const expected = (inode ? 1 : 0) + m.folio_entire_mapcount(old) + gather.nr + 1;
  if (m.refcount(old) !== expected) return restore(EBUSY);
  // A THP target comes from the page allocator (outside ZONE_MOVABLE under memalloc_pin).
  const nw = thp ? alloc_thp_target(k) : alloc_hugetlb_folio_nodemask(k, h as ReturnType<typeof hstate_vma>, k.movable.memalloc_pin > 0);
  if (nw < 0) return restore(ENOMEM);
  m.content.set(m.content.subarray(old, old + h.nr), nw);
  m.mapping.set(m.mapping.subarray(old, old + h.nr), nw);
  m.index.set(m.index.subarray(old, old + h.nr), nw);
  m.flags[nw] = m.flagsOf(old);
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: nw, gen: m.genOf(nw), owner: inode ? 'file' : `anon:${mm.owner}`, file: inode?.name ?? '', index: inode ? m.indexOf(old) : -1, nr: h.nr });
  if (inode) migrate_page_cache(k, inode, old, nw, h.nr);
  if (!thp) move_hugetlb_state(k, old, nw);
  k.emit({ type: 'folio_migrate', time: k.now, actor: k.actorName(), old, new: nw, mm: mm.owner, va: haddr, nr: h.nr });
  set_entry(k, mm, haddr, nw, bits);
  tlb_finish_mmu(k, gather);
  return 'moved';
}
