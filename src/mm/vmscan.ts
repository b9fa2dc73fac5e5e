/**
 * Reclaim. `reclaim_buffers()` is step S4 of the put_user_page() story: memory pressure strips the
 * buffer heads of clean page-cache folios (try_to_release_page), and an elevated refcount does not
 * stop it, so a pinned page can lose its buffers. `shrink_folio_list()` reclaims clean file folios:
 * unmap (MMU_NOTIFY_CLEAR), then remove from the page cache only if nothing else references them —
 * a DMA reference keeps the folio (it stays cached, unmapped; a CPU re-fault maps the same page).
 * Anonymous memory needs swap, which pinsim does not model: it is never reclaimed.
 * Kernel: mm/vmscan.c shrink_folio_list(), __remove_mapping(); mm/filemap.c filemap_release_folio().
 * Simplified: no LRU ages; folios are taken file by file, index order; dirty folios are skipped.
 */
import { delay, type Co } from '../engine/actor.js';
import { filemap_remove_folio } from './filemap.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { unmap_mapping_range } from './memory.js';
import { folio_detach_buffers } from './page-writeback.js';
import { PAGE_SIZE, PG_dirty, PG_private, PG_writeback } from './types.js';

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

/** shrink_folio_list() - try to reclaim up to @nr clean file folios. Return: how many were freed. */
export function* shrink_folio_list(k: Kernel, nr: number): Co<number> {
  let freed = 0;
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
