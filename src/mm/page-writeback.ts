/**
 * Dirtying folios: folio_mark_dirty() through the filesystem's dirty hook, and the ext4 check that a
 * dirtied folio has buffers, and writeback of dirty folios to storage (fsync, msync).
 * Kernel: mm/page-writeback.c folio_mark_dirty(), set_page_dirty_lock(); fs/ext4/inode.c
 * ext4_dirty_folio() (WARN_ON_ONCE without buffers, 4.10+).
 */
import { delay, type Co } from '../engine/actor.js';
import { filemap_get_page } from './filemap.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { mk_pte, pte_dirty, pte_pfn, pte_present } from './mm_types.js';
import { BUG_ON, WARN_ON_ONCE } from './mmdebug.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_PROTECTION_PAGE,
} from './mmu_notifier.js';
import { PAGE_SIZE, PG_dirty, PG_private, VM_SHARED } from './types.js';

/**
 * folio_mark_dirty() - set PG_dirty on @pfn. A folio with a mapping goes through its filesystem's
 * dirty hook (ext4 WARNs when there are no buffers) and is traced (`folio_dirty`); an orphaned or
 * anonymous folio just gets the flag (noop_dirty_folio), untraced: dirtying it reaches no file.
 * Context: @via names the caller for traces (zap, unpin, fault).
 */
export function folio_mark_dirty(k: Kernel, page: number, via: string): void {
  const m = k.mem;
  const pfn = m.folio_head(page); // a large folio's flags are its head's
  const f = m.flagsOf(pfn);
  const ino = m.mappingOf(pfn) > 0 ? (k.inodeById[m.mappingOf(pfn)] as Inode) : null;
  const buffers = (f & PG_private) !== 0;
  // fsdax folios never have buffers: ext4's DAX aops dirty them with noop_dirty_folio.
  if (ino && !ino.dax && ino.checks_buffers && k.features.ext4_dirty_nobuffers_warn) {
    WARN_ON_ONCE(k, !buffers, 'fs/ext4/inode.c:ext4_dirty_folio', pfn,
      `page:pfn ${pfn} index:${m.index[pfn]} mapping:${ino.name} refcount:${m._refcount[pfn]} flags:dirty without buffers`);
  }
  if (f & PG_dirty) return;
  m.flags[pfn] = f | PG_dirty;
  if (ino) k.emit({ type: 'folio_dirty', time: k.now, actor: k.actorName(), pfn, file: ino.name, index: m.indexOf(pfn), buffers, via });
}

/** set_page_dirty_lock() - folio_mark_dirty() under the folio lock. Simplified: the lock is not modelled. */
export function set_page_dirty_lock(k: Kernel, pfn: number, via: string): void {
  folio_mark_dirty(k, pfn, via);
}

/** folio_attach_buffers() - create buffer heads for @pfn (block_page_mkwrite, write_begin). */
export function folio_attach_buffers(k: Kernel, page: number): void {
  const pfn = k.mem.folio_head(page);
  const f = k.mem.flagsOf(pfn);
  if (f & PG_private) return;
  k.mem.flags[pfn] = f | PG_private;
  const o = k.owner_of(pfn);
  k.emit({ type: 'folio_buffers', time: k.now, actor: k.actorName(), pfn, file: o.file, index: o.index, attached: true });
}

/** folio_detach_buffers() - drop @pfn's buffer heads (truncate's invalidate_folio, reclaim). */
export function folio_detach_buffers(k: Kernel, page: number): void {
  const pfn = k.mem.folio_head(page);
  const f = k.mem.flagsOf(pfn);
  if (!(f & PG_private)) return;
  k.mem.flags[pfn] = f & ~PG_private;
  const o = k.owner_of(pfn);
  k.emit({ type: 'folio_buffers', time: k.now, actor: k.actorName(), pfn, file: o.file, index: o.index, attached: false });
}

/**
 * do_page_mkwrite() - the filesystem's ->page_mkwrite before a shared file page becomes writable:
 * ext4/xfs attach buffers (reserving blocks) and dirty the folio; tmpfs just dirties it.
 * Kernel: mm/memory.c do_page_mkwrite(); fs/ext4/inode.c ext4_page_mkwrite().
 */
export function do_page_mkwrite(k: Kernel, pfn: number): void {
  const ino = k.mem.mappingOf(pfn) > 0 ? (k.inodeById[k.mem.mappingOf(pfn)] as Inode) : null;
  if (ino && ino.has_writeback && !ino.dax) folio_attach_buffers(k, pfn);
  folio_mark_dirty(k, pfn, 'page_mkwrite');
}

/**
 * storage_token() - the durable content of @inode's page @index: for DAX the block (frame) itself,
 * for tmpfs and hugetlbfs the page cache (they have no other storage), else what writeback last wrote.
 */
export function storage_token(k: Kernel, inode: Inode, index: number): number {
  if (inode.dax || !inode.has_writeback) {
    const pfn = filemap_get_page(inode.i_mapping, index);
    if (pfn >= 0) return k.mem.contentOf(pfn);
  }
  return inode.storage.get(index) ?? 0;
}

/**
 * folio_mkclean() - write-protect and clean every PTE mapping @pfn (MMU_NOTIFY_PROTECTION_PAGE per
 * VMA), so the next write goes through page_mkwrite. A DMA reference is not a PTE: a device keeps
 * writing (step S3 of the put_user_page() story, docs/kernel-model.md). Return: whether a PTE was dirty.
 * Kernel: mm/rmap.c folio_mkclean(), page_mkclean_one().
 */
export function* folio_mkclean(k: Kernel, inode: Inode, pfn: number, index: number): Co<boolean> {
  let dirty = false;
  const vmas = [...inode.i_mapping.i_mmap].filter((v) => v.vm_flags & VM_SHARED).sort((a, b) => a.vm_mm.id - b.vm_mm.id || a.vm_start - b.vm_start);
  for (const vma of vmas) {
    const npages = (vma.vm_end - vma.vm_start) / PAGE_SIZE;
    if (index < vma.vm_pgoff || index >= vma.vm_pgoff + npages) continue;
    const va = vma.vm_start + (index - vma.vm_pgoff) * PAGE_SIZE;
    const pte = vma.vm_mm.pgtable.get(va / PAGE_SIZE);
    if (!pte_present(pte) || pte_pfn(pte) !== pfn) continue;
    const range = mmu_notifier_range_init(k, vma.vm_mm, MMU_NOTIFY_PROTECTION_PAGE, va, va + PAGE_SIZE);
    yield* mmu_notifier_invalidate_range_start(k, range);
    if (pte_dirty(pte)) dirty = true;
    vma.vm_mm.pgtable.set(va / PAGE_SIZE, mk_pte(pfn, 0));
    yield* mmu_notifier_invalidate_range_end(k, range);
  }
  return dirty;
}

/**
 * write_cache_pages() - write back the dirty folios of @inode with index in [first, last]:
 * folio_clear_dirty_for_io() (folio_mkclean, then PG_dirty cleared), then ->writepages. ext4 checks
 * the buffers of each folio it writes: without them it BUGs before 5.18, and from 5.18 logs
 * ext4_warning_inode() (a printk, not a WARN) and skips the folio, its dirty bit cleared, dropping
 * its data.
 * Context: may sleep. Kernel: mm/page-writeback.c write_cache_pages(), folio_clear_dirty_for_io();
 * fs/ext4/inode.c mpage_prepare_extent_to_map() (the BUG ≤ 5.17; from 5.18 cc5095747edf's
 * ext4_warning_inode()).
 */
export function* write_cache_pages(k: Kernel, inode: Inode, first: number, last: number): Co {
  if (inode.dax || !inode.has_writeback) return;
  const dirty: number[] = [];
  const m = k.mem;
  inode.i_mapping.i_pages.forEachIn(first, last, (_i, v) => {
    // A large folio is written back whole, once (its flags are its head's).
    const head = m.folio_head(v - 1);
    if (m.flagsOf(head) & PG_dirty && (head === v - 1 || dirty[dirty.length - 1] !== head)) dirty.push(head);
  });
  for (const pfn of dirty) {
    const index = k.mem.indexOf(pfn);
    if (k.mem.mappingOf(pfn) !== inode.id) continue; // truncated meanwhile
    const nr = m.folio_nr_pages(pfn);
    for (let i = 0; i < nr; i++) yield* folio_mkclean(k, inode, pfn + i, index + i);
    k.mem.flags[pfn] = k.mem.flagsOf(pfn) & ~PG_dirty;
    const buffers = (k.mem.flagsOf(pfn) & PG_private) !== 0;
    if (inode.checks_buffers && !buffers) {
      const dump = `page:pfn ${pfn} index:${index} mapping:${inode.name} refcount:${k.mem._refcount[pfn]} flags:dirty, no buffers`;
      if (k.features.ext4_writepages_bug) BUG_ON(k, true, 'fs/ext4/inode.c:mpage_prepare_extent_to_map', pfn, dump);
      // From 5.18 ext4_warning_inode() logs "page … does not have buffers attached": a printk, not
      // a WARN. The folio's dirty bit is already clear; its data is dropped.
      k.emit({ type: 'writeback_skip', time: k.now, actor: k.actorName(), file: inode.name, index, pfn, token: k.mem.contentOf(pfn) });
      continue;
    }
    for (let i = 0; i < nr; i++) {
      inode.storage.set(index + i, k.mem.contentOf(pfn + i));
      k.emit({ type: 'storage_write', time: k.now, actor: k.actorName(), file: inode.name, index: index + i, pfn: pfn + i, token: k.mem.contentOf(pfn + i) });
    }
    // The write I/O itself: another CPU (or a device) may run meanwhile.
    yield* delay(nr * k.timing.writebackPerPage, 'writeback:folio_written');
  }
}
