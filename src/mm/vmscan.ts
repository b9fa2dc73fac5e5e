/**
 * Reclaim. `reclaim_buffers()` is step S4 of the put_user_page() story: memory pressure strips the
 * buffer heads of clean page-cache folios (try_to_release_page), and an elevated refcount does not
 * stop it, so a pinned page can lose its buffers. `shrink_folio_list()` reclaims clean file folios:
 * unmap (MMU_NOTIFY_CLEAR), then remove from the page cache only if nothing else references them —
 * a DMA reference keeps the folio (it stays cached, unmapped; a CPU re-fault maps the same page).
 * Anonymous memory needs swap, which pinsim does not model: it is never reclaimed, except the pages
 * MADV_FREE made lazily freeable, which reclaim discards without swap (shrink_lazyfree()).
 * Kernel: mm/vmscan.c shrink_folio_list(), __remove_mapping(); mm/filemap.c filemap_release_folio();
 * mm/rmap.c try_to_unmap_one() (lazyfree).
 * Simplified: no LRU ages; lazily freeable pages go first, in the order MADV_FREE marked them, then
 * file folios file by file, index order; dirty folios are skipped.
 */
import { delay, type Co } from '../engine/actor.js';
import { filemap_remove_folio } from './filemap.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { ptep_clear, tlb_finish_mmu, tlb_gather_mmu, unmap_mapping_range } from './memory.js';
import { pte_dirty, pte_pfn, pte_present } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR,
} from './mmu_notifier.js';
import { folio_detach_buffers } from './page-writeback.js';
import { PAGE_SIZE, PG_dirty, PG_lazyfree, PG_private, PG_writeback } from './types.js';

function clean_cached(k: Kernel): { inode: Inode; pfn: number; index: number }[] {
  const out: { inode: Inode; pfn: number; index: number }[] = [];
  for (const inode of k.inodes.values()) {
    if (inode.dax || !inode.has_writeback) continue;
    inode.i_mapping.i_pages.forEachIn(0, Infinity, (index, v) => {
      // A large folio once, by its head (its flags, its reference).
      const pfn = k.mem.folio_head(v - 1);
      if (pfn !== v - 1) return;
      if (!(k.mem.flagsOf(pfn) & (PG_dirty | PG_writeback))) out.push({ inode, pfn, index });
    });
  }
  return out;
}

/** reclaim_buffers() - strip the buffers of every clean cached folio. Return: how many. */
export function* reclaim_buffers(k: Kernel): Co<number> {
  let n = 0;
  for (const { pfn } of clean_cached(k)) {
    if (!(k.mem.flagsOf(pfn) & PG_private)) continue;
    folio_detach_buffers(k, pfn);
    n++;
  }
  yield* delay(n * k.timing.zapPerPage, 'reclaim:buffers_released');
  return n;
}

/**
 * shrink_lazyfree() - try to discard up to @nr pages MADV_FREE made lazily freeable. For each, as
 * try_to_unmap_one() does: the notifier first (a device holding no reference lets go; ODP dirties
 * what it could write), then the page is discarded — its PTE cleared, dropped unless someone holds
 * it — when neither the PTE nor the folio was dirtied since MADV_FREE and (from 5.18) nothing but its
 * mappings references it; otherwise it stays mapped and is an ordinary anonymous page again.
 * Before 5.18 a page a GUP user holds is discarded all the same: the process then faults in a new
 * zero page while the holder keeps the old one.
 * Context: may sleep. Return: how many frames were freed.
 * Kernel: mm/rmap.c try_to_unmap_one() (lazyfree; 6c8e2a256915 for the reference check, 5.18);
 * mm/vmscan.c shrink_folio_list() (folio_ref_freeze).
 */
function* shrink_lazyfree(k: Kernel, nr: number): Co<number> {
  let freed = 0;
  for (const [pfn, { mm, va }] of [...k.lazyfree]) {
    if (freed >= nr) break;
    k.lazyfree.delete(pfn);
    const m = k.mem;
    const still = (): boolean => {
      const pte = mm.pgtable.get(va / PAGE_SIZE);
      return !m.free[pfn] && (m.flagsOf(pfn) & PG_lazyfree) !== 0 && pte_present(pte) && pte_pfn(pte) === pfn;
    };
    if (!still()) continue;
    const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, va, va + PAGE_SIZE);
    yield* mmu_notifier_invalidate_range_start(k, range);
    if (still()) {
      const dirty = pte_dirty(mm.pgtable.get(va / PAGE_SIZE)) || (m.flagsOf(pfn) & PG_dirty) !== 0;
      const extra = m.refcount(pfn) !== m.mapcount(pfn);
      m.flags[pfn] = m.flagsOf(pfn) & ~PG_lazyfree;
      if (!dirty && !(extra && k.features.lazyfree_checks_refs)) {
        const gather = tlb_gather_mmu();
        ptep_clear(k, mm, va, gather);
        yield* mmu_notifier_invalidate_range_end(k, range);
        tlb_finish_mmu(k, gather);
        if (m.free[pfn]) freed++;
        continue;
      }
    }
    yield* mmu_notifier_invalidate_range_end(k, range);
  }
  return freed;
}

/**
 * shrink_folio_list() - try to reclaim up to @nr pages: lazily freeable anonymous ones, then clean
 * file folios. Return: how many were freed.
 */
export function* shrink_folio_list(k: Kernel, nr: number): Co<number> {
  let freed = k.lazyfree.size ? yield* shrink_lazyfree(k, nr) : 0;
  for (const { inode, pfn, index } of clean_cached(k)) {
    if (freed >= nr) break;
    // try_to_unmap(): every mapping goes (MMU_NOTIFY_CLEAR); notifier devices let go.
    const pages = k.mem.folio_nr_pages(pfn);
    if (k.mem.folio_mapcount(pfn) > 0) yield* unmap_mapping_range(k, inode.i_mapping, index * PAGE_SIZE, pages * PAGE_SIZE, false);
    if (k.mem.mappingOf(pfn) !== inode.id || k.mem.flagsOf(pfn) & PG_dirty) continue;
    if (k.mem.flagsOf(pfn) & PG_private) folio_detach_buffers(k, pfn);
    // __remove_mapping(): freeze the refcount at the page cache's own reference, or keep the folio.
    if (k.mem.refcount(pfn) !== 1) continue;
    filemap_remove_folio(k, pfn, 'reclaim');
    freed++;
  }
  yield* delay(freed * k.timing.truncatePerPage, 'reclaim:folios_freed');
  return freed;
}
