/**
 * hugetlbfs: files whose pages are huge pages from the pool. The page cache holds one entry per
 * huge page, at its first page index; there is no storage behind it (a hole reads as zeros) and
 * no writeback, and no write path (pwrite fails with EINVAL; pages are written through mappings).
 * Sizes are huge page multiples: a truncate to an unaligned size fails with EINVAL; truncate
 * removes the huge pages beyond the new size whatever references they have, so a pinned one is
 * orphaned, alive, tied to no file, like any page-cache page; hole punching removes the whole huge
 * pages inside the hole and, from 5.19, zeroes the parts of the partial ones at its ends.
 * Kernel: fs/hugetlbfs/inode.c hugetlbfs_setattr(), hugetlb_vmtruncate(), hugetlb_vmdelete_list(),
 * remove_inode_hugepages(), hugetlbfs_punch_hole(), hugetlbfs_zero_partial_page(),
 * hugetlbfs_read_iter(); mm/hugetlb.c hugetlb_add_to_page_cache().
 * Simplified: zeroing covers the base pages wholly inside the hole (content is tracked per page).
 */
import { delay, type Co } from '../../engine/actor.js';
import { EINVAL, type Errno } from '../errno.js';
import { hugetlb_unreserve_pages, size_to_hstate, type HState } from '../hugetlb.js';
import { delete_from_page_cache_batch } from '../filemap.js';
import type { Kernel } from '../kernel.js';
import { down_write, up_write } from '../locking.js';
import { PINSIM_BUG } from '../mmdebug.js';
import { truncate_pagecache_sequence } from '../truncate.js';
import { PAGE_SIZE, PG_uptodate } from '../types.js';
import type { Inode } from './inode.js';

/** hstate_inode() - the hstate of the hugetlbfs file @inode. */
export function hstate_inode(k: Kernel, inode: Inode): HState {
  return size_to_hstate(k, inode.huge_order) ?? PINSIM_BUG(`hugetlbfs file ${inode.name} of order ${inode.huge_order} without its hstate`);
}

/** hugetlbfs_get_folio() - the huge page cached at huge page index @idx of @inode (its head pfn), or -1. */
export function hugetlbfs_get_folio(inode: Inode, idx: number): number {
  return inode.i_mapping.i_pages.get(idx * 2 ** inode.huge_order) - 1;
}

/**
 * hugetlb_add_to_page_cache() - insert the new huge page @head at huge index @idx of @inode: the
 * cache takes a reference; every page of it names the file and its own index. The index is
 * reserved or allocated from now on (its region). Pairs with remove_inode_hugepages().
 */
export function hugetlb_add_to_page_cache(k: Kernel, inode: Inode, head: number, idx: number): void {
  const m = k.mem;
  const nr = 2 ** inode.huge_order;
  const index = idx * nr;
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: head, gen: m.genOf(head), owner: 'file', file: inode.name, index, nr });
  // Every page has its own entry, as every large folio's does (the xarray's multi-index entry).
  inode.i_mapping.i_pages.setRun(index, nr, head + 1, 1);
  m.mapping.fill(inode.id, head, head + nr);
  for (let i = 0; i < nr; i++) m.index[head + i] = index + i;
  m.flags[head] = m.flagsOf(head) | PG_uptodate;
  m._refcount[head] = m.refcount(head) + 1;
  inode.resv_regions.add(idx);
  k.emit({ type: 'filemap_add', time: k.now, actor: k.actorName(), file: inode.name, index, pfn: head, gen: m.genOf(head), refcount: m.refcount(head), nr });
}

/**
 * remove_inode_hugepages() - remove the cached huge pages of page indexes [@first, @last] of @inode
 * (huge page aligned), whatever references they have (one someone still references survives,
 * orphaned), a folio batch at a time, then release the reservations of the huge indexes in the
 * range that had no page. Context: i_rwsem held; may sleep between batches.
 * Kernel: fs/hugetlbfs/inode.c remove_inode_hugepages(), remove_inode_single_folio()
 * (filemap_get_folios() into a folio_batch, folio_batch_release(), cond_resched()).
 */
export function* remove_inode_hugepages(k: Kernel, inode: Inode, first: number, last: number, reason: string): Co {
  const h = hstate_inode(k, inode);
  const max = k.features.folio_batch_size;
  const idx = new Float64Array(max), val = new Float64Array(max), one = new Float64Array(1), oneV = new Float64Array(1);
  let index = first, freed = 0;
  for (;;) {
    // Each batch is looked up afresh from the cursor, after the sleep: a huge page's first entry
    // found stands for it, the cursor then goes on after it.
    let n = 0;
    while (n < max && inode.i_mapping.i_pages.collectIn(index, last, 1, one, oneV)) {
      const i = one[0] as number;
      idx[n] = i - (i % h.nr);
      val[n++] = (oneV[0] as number) - 1 - (i % h.nr);
      index = (idx[n - 1] as number) + h.nr;
    }
    if (n === 0) break;
    delete_from_page_cache_batch(k, inode, val.subarray(0, n), reason);
    freed += n;
    yield* delay(n * k.timing.truncatePerPage, 'hugetlbfs:folio_batch_removed');
  }
  const to = last === Infinity ? Infinity : Math.floor((last + 1) / h.nr);
  hugetlb_unreserve_pages(h, inode.resv_regions, Math.floor(first / h.nr), to, freed);
}

/**
 * hugetlbfs_setattr_size_check() - may a hugetlbfs file be truncated to @length? Only to a
 * multiple of its huge page size. Return: 0 or EINVAL.
 * Kernel: fs/hugetlbfs/inode.c hugetlbfs_setattr().
 */
export function hugetlbfs_setattr_size_check(k: Kernel, inode: Inode, length: number): 0 | Errno {
  return length % hstate_inode(k, inode).size === 0 ? 0 : EINVAL;
}

/**
 * hugetlbfs_zero_partial_page() - zero the pages of [@start, @end) (bytes, inside one huge page)
 * of @inode's cached huge page, if there is one. Kernel: fs/hugetlbfs/inode.c (5.19).
 */
function hugetlbfs_zero_partial_page(k: Kernel, inode: Inode, start: number, end: number): void {
  const nr = 2 ** inode.huge_order;
  const first = Math.ceil(start / PAGE_SIZE), last = Math.floor(end / PAGE_SIZE);
  const head = hugetlbfs_get_folio(inode, Math.floor(Math.floor(start / PAGE_SIZE) / nr));
  if (head < 0 || first >= last) return;
  const base = k.mem.indexOf(head);
  k.mem.content.fill(0, head + first - base, head + last - base);
}

/**
 * hugetlbfs_punch_hole() - fallocate(PUNCH_HOLE) of [@offset, @offset + @len) of a hugetlbfs file:
 * the whole huge pages inside are unmapped and removed (the sequence truncate uses, without the
 * i_size change), the partial ones at the ends zeroed there (5.19+; untouched before).
 * Context: takes i_rwsem for write; may sleep. Return: 0, or the policy hook's errno.
 * Kernel: fs/hugetlbfs/inode.c hugetlbfs_punch_hole().
 */
export function* hugetlbfs_punch_hole(k: Kernel, inode: Inode, offset: number, len: number): Co<0 | Errno> {
  const h = hstate_inode(k, inode);
  const hole_start = Math.ceil(offset / h.size) * h.size;
  const hole_end = Math.floor((offset + len) / h.size) * h.size;
  yield* down_write(inode.i_rwsem, k.actorName(), 'fallocate:i_rwsem');
  if (k.features.hugetlbfs_zero_partial) {
    if (offset < hole_start) hugetlbfs_zero_partial_page(k, inode, offset, Math.min(offset + len, hole_start));
    if (offset + len > hole_end && offset + len > hole_start) hugetlbfs_zero_partial_page(k, inode, hole_end, offset + len);
  }
  const err = hole_end > hole_start
    ? yield* truncate_pagecache_sequence(k, inode, hole_start / PAGE_SIZE, hole_end / PAGE_SIZE - 1, null)
    : 0;
  up_write(inode.i_rwsem);
  return err;
}

/**
 * hugetlbfs_read() - pread of [@pos, @pos + @len) of a hugetlbfs file: the cached pages' content,
 * zeros for a hole (nothing is allocated). Return: the content tokens, one per page read.
 * Kernel: fs/hugetlbfs/inode.c hugetlbfs_read_iter().
 */
export function hugetlbfs_read(k: Kernel, inode: Inode, pos: number, len: number): number[] {
  const nr = 2 ** inode.huge_order;
  const tokens: number[] = [];
  const end = Math.min(pos + len, inode.i_size);
  for (let index = Math.floor(pos / PAGE_SIZE); index * PAGE_SIZE < end; index++) {
    const head = hugetlbfs_get_folio(inode, Math.floor(index / nr));
    tokens.push(head < 0 ? 0 : k.mem.contentOf(head + (index % nr)));
  }
  return tokens;
}
