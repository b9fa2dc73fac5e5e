/**
 * fsdax: a DAX file's blocks are frames, mapped straight into user page tables; there is no page
 * cache copy. Before truncate (any size change) and punch-hole touch the blocks, the filesystem
 * breaks layouts over the *whole file*: ext4_break_layouts() and xfs_break_dax_layouts() call
 * dax_layout_busy_page(inode->i_mapping), which unmaps every mapping of the file (every VMA, so
 * every mirror of it sees the invalidation) and then, holding no page lock, looks from index 0 for a
 * page with a reference beyond its DAX entry; the filesystem sleeps until that page is idle and
 * starts over, so a busy page anywhere in the file delays the operation. The sleep is
 * interruptible: a dying process leaves it with EINTR.
 * Per era: until 5.3 the unmap zapped private COW copies too (even_cows); until 6.15 a file that no
 * VMA maps is not scanned at all (mapping_mapped() returns early), so a reference kept after munmap
 * does not delay anything.
 * Kernel: fs/dax.c dax_layout_busy_page() (4.18), dax_layout_busy_page_range() (5.10; the
 * filesystems still pass the whole file); fs/ext4/inode.c ext4_break_layouts() from ext4_setattr()
 * and ext4_punch_hole(); fs/xfs/xfs_file.c xfs_break_dax_layouts() from xfs_break_layouts().
 * Simplified: idle is refcount 1 (the DAX entry's own reference) in every era; 6.15's refcount-0
 * idle is the same condition in pinsim's books.
 */
import type { Co } from '../../engine/actor.js';
import { wait_event } from '../../engine/waitqueue.js';
import { EINTR, type Errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { unmap_mapping_range } from '../memory.js';
import type { Inode } from './inode.js';

/**
 * dax_layout_busy_page() - unmap every mapping of @inode's file and return the first frame of the
 * file (from index 0) that someone besides its DAX entry references, or -1.
 * Context: the filesystem's fault lock (invalidate_lock / MMAPLOCK) held; may sleep (the unmap's
 * notifiers).
 * Return: a busy pfn, or -1 when every page is idle (or, before 6.15, when nothing maps the file).
 * Kernel: fs/dax.c dax_layout_busy_page() (4.18: unmap_mapping_range(mapping, 0, 0, 1); 5.3:
 * even_cows 0, "dax: dax_layout_busy_page() should not unmap cow pages"; 5.10: the range variant
 * called with 0..LLONG_MAX; 6.15: the mapping_mapped() early return dropped).
 */
export function* dax_layout_busy_page(k: Kernel, inode: Inode): Co<number> {
  const mapping = inode.i_mapping;
  if (k.features.dax_busy_skips_unmapped && mapping.i_mmap.size === 0) return -1;
  yield* unmap_mapping_range(k, mapping, 0, 0, k.features.dax_busy_unmaps_cows);
  let busy = -1;
  mapping.i_pages.forEachIn(0, Infinity, (_i, v) => {
    if (busy < 0 && k.mem.refcount(v - 1) > 1) busy = v - 1;
  });
  return busy;
}

/**
 * dax_break_layouts() - wait until no page of @inode's file is busy. Context: i_rwsem held; the
 * fault lock is dropped while sleeping. Return: 0, or EINTR when a fatal signal interrupts the sleep.
 * Kernel: fs/ext4/inode.c ext4_break_layouts(); fs/xfs/xfs_file.c xfs_break_dax_layouts() (both
 * over the whole mapping).
 */
export function* dax_break_layouts(k: Kernel, inode: Inode): Co<0 | Errno> {
  for (;;) {
    const busy = yield* dax_layout_busy_page(k, inode);
    if (busy < 0) return 0;
    k.emit({ type: 'dax_busy_wait', time: k.now, actor: k.actorName(), file: inode.name, pfn: busy, refcount: k.mem.refcount(busy) });
    // Sleep (TASK_INTERRUPTIBLE) until the busy page's last extra reference goes.
    yield* wait_event(k.dax_wq, () => k.mem.refcount(busy) <= 1 || k.mem.free[busy] === 1 || k.fatal_signal_pending(), 'dax:break_layouts_wait');
    if (k.fatal_signal_pending()) return EINTR;
  }
}
