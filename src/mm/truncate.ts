/**
 * truncate and ftruncate of a page-cache file, in truncate_pagecache()'s order: (1) i_size set;
 * (2) unmap_mapping_range() beyond the new EOF (MMU_NOTIFY_CLEAR per VMA); (3)
 * truncate_inode_pages_range(): each folio's buffers invalidated, dirtiness cancelled, and the folio
 * removed from the page cache *whatever other references it has*: a folio a device still holds is
 * orphaned, alive, tied to no file; (4) unmap again (even_cows); (5) the filesystem frees the blocks.
 * A proposal's hook (policy_ops) may act on long-term-referenced pages first; a DAX file first
 * waits in break-layouts until no page of the whole file is busy (fs/dax.ts).
 * Kernel: mm/truncate.c truncate_setsize(), truncate_pagecache(), truncate_inode_pages_range(),
 * truncate_cleanup_folio(). Simplified: no folio lock or writeback waits yet (a victim is instead
 * re-looked-up after each sleep, as the kernel rechecks folio->mapping under the lock); the partial
 * page's tail is zeroed without a new content token.
 */
import { delay, schedPoint, type Co } from '../engine/actor.js';
import type { Errno } from './errno.js';
import { delete_from_page_cache_batch, filemap_pfns_in, filemap_remove_folio, folio_test_dirty } from './filemap.js';
import { split_folio } from './folio_split.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { dax_break_layouts } from './fs/dax.js';
import { hugetlbfs_setattr_size_check, remove_inode_hugepages } from './fs/hugetlbfs.js';
import { down_write, up_write } from './locking.js';
import { unmap_mapping_range } from './memory.js';
import { folio_detach_buffers, folio_mark_dirty } from './page-writeback.js';
import type { DmaRef } from './pin_registry.js';
import { PAGE_SIZE, pages_in, PG_dirty } from './types.js';

/**
 * truncate_inode_pages_range() - remove the cached folios of indexes [first, last] from @inode's
 * page cache, a folio batch at a time: up to PAGEVEC_SIZE folios (the era's folio_batch_size)
 * found from the cursor on, each cleaned (buffers invalidated, dirtiness cancelled), all removed
 * together and released together, then the time their removal takes, a preemption point.
 * Context: i_rwsem held; may sleep between batches. Return: nothing.
 * Kernel: mm/truncate.c truncate_inode_pages_range() (find_lock_entries() into a folio_batch,
 * truncate_cleanup_folio(), delete_from_page_cache_batch(), folio_batch_release(), cond_resched()).
 * A hugetlbfs file: remove_inode_hugepages().
 * Simplified: one pass (the kernel's second pass waits for folios it could not lock).
 */
export function* truncate_inode_pages_range(k: Kernel, inode: Inode, first: number, last: number, reason: string): Co {
  if (inode.huge_order) return yield* remove_inode_hugepages(k, inode, first, last, reason);
  const m = k.mem;
  const max = k.features.folio_batch_size;
  const idx = new Float64Array(max), val = new Float64Array(max), batch = new Float64Array(max);
  let index = first;
  for (;;) {
    // Each batch is looked up afresh from the cursor, after the sleep: drop_caches (i_rwsem does
    // not keep it out) may have removed (and freed) folios meanwhile. Every page of a large folio
    // has an entry: the folio counts once, at its first page found.
    const n = inode.i_mapping.i_pages.collectIn(index, last, max, idx, val);
    if (n === 0) break;
    let b = 0, next = (idx[n - 1] as number) + 1, partial = -1;
    for (let i = 0; i < n; i++) {
      const at = idx[i] as number;
      let pfn = (val[i] as number) - 1;
      if (m.folio_order(pfn)) {
        const head = m.folio_head(pfn), start = m.indexOf(head), end = start + m.folio_nr_pages(head) - 1;
        // A folio the range covers in part waits for the batch before it to go.
        if (start < first || end > last) { partial = head; next = at; break; }
        pfn = head;
        while (i + 1 < n && (idx[i + 1] as number) <= end) i++;
        if (i === n - 1) next = Math.max(next, end + 1);
      }
      // truncate_cleanup_folio(): invalidate the buffers, cancel the dirty state.
      folio_detach_buffers(k, pfn);
      m.flags[pfn] = m.flagsOf(pfn) & ~PG_dirty;
      batch[b++] = pfn;
    }
    if (b) {
      delete_from_page_cache_batch(k, inode, batch.subarray(0, b), reason);
      // The batch is gone from the cache and released; cond_resched() before the next one.
      yield* delay(b * k.timing.truncatePerPage, 'truncate:folio_batch_removed');
    }
    index = next;
    if (partial < 0) continue;
    // Zeroed, then split (its pages in the range then go as 4 KiB folios, looked up again) or not.
    const start = m.indexOf(partial), nr = m.folio_nr_pages(partial);
    if ((yield* truncate_inode_partial_folio(k, inode, partial, first, last, reason)) !== 'split') index = Math.max(index, start + nr);
  }
}

/**
 * truncate_inode_partial_folio() - truncate or punch-hole covers pages [@first, @last] of the large
 * folio headed by @head in part: the pages it covers are zeroed, then the folio is split if it can
 * be (its pages in the range then go like any 4 KiB page). A folio that cannot be split (a pin, any
 * extra reference) is kept whole when it is dirty — and always on tmpfs, which marks it dirty first
 * (before 5.7 tmpfs does not even try to split) — and otherwise removed from the page cache whole,
 * unmapped first, orphaning the pages outside the range too.
 * Context: i_rwsem held; may sleep (the unmap). Return: 'split', 'kept' or 'removed'.
 * Kernel: mm/truncate.c truncate_inode_partial_folio() (5.17), truncate_inode_folio(); mm/shmem.c
 * shmem_undo_range() (b9a8a4195c7d: folio marked dirty first), 5.7 shmem_punch_compound() (71725ed10c40).
 */
export function* truncate_inode_partial_folio(k: Kernel, inode: Inode, head: number, first: number, last: number, reason: string): Co<'split' | 'kept' | 'removed'> {
  const m = k.mem;
  const start = m.indexOf(head), nr = m.folio_nr_pages(head);
  for (let i = Math.max(first, start); i <= Math.min(last, start + nr - 1); i++) m.content[head + i - start] = 0;
  const shmem = inode.fs === 'tmpfs';
  if (shmem) folio_mark_dirty(k, head, 'shmem_undo_range');
  const tried = !shmem || k.features.shmem_truncate_split;
  const outcome = tried && split_folio(k, head) ? 'split' : shmem || folio_test_dirty(k, head) ? 'kept' : 'removed';
  k.emit({
    type: 'folio_truncate_partial', time: k.now, actor: k.actorName(), file: inode.name, index: start, pfn: head, nr, outcome,
    refcount: m.refcount(head), pincount: m.pincount(head),
  });
  if (outcome !== 'removed') return outcome;
  yield* unmap_mapping_range(k, inode.i_mapping, start * PAGE_SIZE, nr * PAGE_SIZE, false);
  if (m.mappingOf(head) !== inode.id) return 'removed';
  folio_detach_buffers(k, head);
  filemap_remove_folio(k, head, reason);
  yield* delay(k.timing.truncatePerPage, 'truncate:folio_removed');
  return 'removed';
}

/** i_size_write() - set @inode's size (traced as `i_size`). Context: i_rwsem held for write. */
function i_size_write(k: Kernel, inode: Inode, size: number): void {
  const old = inode.i_size;
  inode.i_size = size;
  k.emit({ type: 'i_size', time: k.now, actor: k.actorName(), file: inode.name, old, size });
}

/**
 * truncate_pagecache_sequence() - (pinsim-only) what truncate and punch-hole both do to the page
 * indexes [first, last] of @inode, in order: the policy's hook; fsdax breaks layouts over the whole
 * file; i_size set (truncate only: @newsize, null for a hole); unmap the range; remove its folios
 * from the page cache (a folio someone still references is orphaned); truncate unmaps again, with
 * even_cows, for private COW pages faulted in meanwhile; the filesystem frees the blocks.
 * A hole keeps the private COW copies of its range: truncate_pagecache_range() unmaps once without
 * even_cows (only a DAX file before 5.3 loses them, in break-layouts' unmap).
 * Context: i_rwsem held for write; may sleep.
 * Return: 0, or the hook's or break-layouts' errno (nothing changed then).
 * Kernel: mm/truncate.c truncate_setsize()/truncate_pagecache() (truncate: both unmaps even_cows)
 * and truncate_pagecache_range() (a hole: one unmap, even_cows 0); fs/ext4/inode.c ext4_setattr(),
 * ext4_punch_hole(); fs/dax.c dax_layout_busy_page().
 * Simplified: a hole's second pass zaps only page-cache folios a racing fault mapped again after the
 * first unmap (truncate_cleanup_folio() unmaps such a folio, never a COW copy); blocks are freed per
 * page.
 */
export function* truncate_pagecache_sequence(k: Kernel, inode: Inode, first: number, last: number, newsize: number | null): Co<0 | Errno> {
  const hook = k.policy.ops.truncate_pinned_range;
  let err: 0 | Errno = hook ? yield* hook(k, inode, first, last) : 0;
  // fsdax: ext4_setattr()/xfs_vn_setattr_size() and the punch-hole paths break layouts (the whole
  // file) before anything.
  if (!err && inode.dax) err = yield* dax_break_layouts(k, inode);
  if (err) return err;
  if (newsize !== null) i_size_write(k, inode, newsize);
  const reason = newsize === null ? 'punch_hole' : 'truncate';
  const holebegin = first * PAGE_SIZE, holelen = last === Infinity ? 0 : (last - first + 1) * PAGE_SIZE;
  yield* unmap_mapping_range(k, inode.i_mapping, holebegin, holelen, newsize !== null);
  // PTEs gone, page cache untouched: a racing fault or device may still observe the pages.
  yield* schedPoint(`${reason}:unmapped`);
  yield* truncate_inode_pages_range(k, inode, first, last, reason);
  yield* unmap_mapping_range(k, inode.i_mapping, holebegin, holelen, newsize !== null);
  for (const idx of [...inode.storage.keys()]) if (idx >= first && idx <= last) inode.storage.delete(idx);
  return 0;
}

/**
 * do_truncate() - set @inode's size to @length.
 * Context: takes i_rwsem for write; may sleep.
 * Return: 0; EINVAL (hugetlbfs: a size not a multiple of its huge page size); the errno of the
 * policy's hook (layout-lease: ETXTBSY) or of break-layouts (EINTR).
 * Kernel: fs/open.c do_truncate() → ext4_setattr() → ext4_break_layouts() (fsdax, any size change),
 * truncate_setsize() + truncate_pagecache(); fs/hugetlbfs/inode.c hugetlbfs_setattr() →
 * hugetlb_vmtruncate().
 */
export function* do_truncate(k: Kernel, inode: Inode, length: number): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'truncate:enter');
  yield* down_write(inode.i_rwsem, k.actorName(), 'truncate:i_rwsem');
  let err: 0 | Errno = inode.huge_order ? hugetlbfs_setattr_size_check(k, inode, length) : 0;
  if (err) { /* nothing changes */ } else if (length < inode.i_size) err = yield* truncate_pagecache_sequence(k, inode, pages_in(length), Infinity, length);
  else {
    // Growing a DAX file breaks layouts too: ext4_setattr() and xfs_vn_setattr_size() do it for any
    // size change.
    if (inode.dax) err = yield* dax_break_layouts(k, inode);
    if (!err) i_size_write(k, inode, length);
  }
  up_write(inode.i_rwsem);
  return err;
}

/**
 * longterm_refs_on_range() - (pinsim-only) the live long-term DMA references on the cached pages
 * [first, last] of @inode: what the 2018 proposals act on, read from the pin registry (the
 * tracking put_user_page() proposed). Context: any. Return: them, oldest first.
 * Kernel: none; the 2018 thread's proposals.
 */
export function longterm_refs_on_range(k: Kernel, inode: Inode, first: number, last: number): DmaRef[] {
  return k.pins.longterm_refs(filemap_pfns_in(inode.i_mapping, first, last));
}

/**
 * ref_pfns_on_range() - (pinsim-only) the cached pfns of [first, last] of @inode that @ref holds.
 * Context: any. Return: them, each once. Kernel: none.
 */
export function ref_pfns_on_range(ref: DmaRef, inode: Inode, first: number, last: number): number[] {
  const cached = new Set(filemap_pfns_in(inode.i_mapping, first, last));
  return [...new Set(ref.pfns.filter((p) => cached.has(p)))];
}
