/**
 * fsdax: a DAX file's blocks are frames, mapped straight into user page tables; there is no page
 * cache copy. Truncate and punch-hole first break layouts: unmap the range, then, holding no page
 * lock, sleep until every page of the range is idle (no reference beyond the DAX entry), re-checking
 * from the top after each wake-up; only then may the blocks be freed (dax_layout_busy_page_range()).
 * The sleep is interruptible: a dying process leaves it with EINTR.
 * Kernel: fs/dax.c dax_layout_busy_page_range(); fs/ext4/inode.c ext4_break_layouts();
 * fs/xfs/xfs_file.c xfs_break_dax_layouts(). Simplified: idle is refcount 1 (the DAX entry's own
 * reference) in every era; 6.15's refcount-0 idle is the same condition in pinsim's books.
 */
import type { Co } from '../../engine/actor.js';
import { wait_event } from '../../engine/waitqueue.js';
import { EINTR, type Errno } from '../errno.js';
import type { Kernel } from '../kernel.js';
import { unmap_mapping_range } from '../memory.js';
import { PAGE_SIZE } from '../types.js';
import type { Inode } from './inode.js';

/** dax_layout_busy_page_range() - unmap [first, last] and return a busy frame of it, or -1. */
export function* dax_layout_busy_page_range(k: Kernel, inode: Inode, first: number, last: number): Co<number> {
  const holelen = last === Infinity ? 0 : (last - first + 1) * PAGE_SIZE;
  yield* unmap_mapping_range(k, inode.i_mapping, first * PAGE_SIZE, holelen, false);
  let busy = -1;
  inode.i_mapping.i_pages.forEachIn(first, last, (_i, v) => {
    if (busy < 0 && k.mem.refcount(v - 1) > 1) busy = v - 1;
  });
  return busy;
}

/**
 * dax_break_layouts() - wait until no page of [first, last] is busy. Context: i_rwsem held; the
 * fault lock is dropped while sleeping. Return: 0, or EINTR when a fatal signal interrupts the sleep.
 */
export function* dax_break_layouts(k: Kernel, inode: Inode, first: number, last: number): Co<0 | Errno> {
  for (;;) {
    const busy = yield* dax_layout_busy_page_range(k, inode, first, last);
    if (busy < 0) return 0;
    k.emit({ type: 'dax_busy_wait', time: k.now, actor: k.actorName(), file: inode.name, pfn: busy, refcount: k.mem.refcount(busy) });
    // Sleep (TASK_INTERRUPTIBLE) until the busy page's last extra reference goes.
    yield* wait_event(k.dax_wq, () => k.mem.refcount(busy) <= 1 || k.mem.free[busy] === 1 || k.fatal_signal_pending(), 'dax:break_layouts_wait');
    if (k.fatal_signal_pending()) return EINTR;
  }
}
