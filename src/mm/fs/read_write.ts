/**
 * File I/O through the page cache (or, for DAX, straight to the blocks): pread, pwrite, fsync,
 * msync, drop_caches, and fallocate(PUNCH_HOLE).
 * Kernel: mm/filemap.c filemap_read(), generic_perform_write(); fs/sync.c vfs_fsync_range();
 * mm/msync.c; fs/drop_caches.c → mm/truncate.c invalidate_mapping_pages(); fs/open.c
 * vfs_fallocate() → ext4_punch_hole()/shmem_fallocate() → truncate_pagecache_range().
 * Simplified: partial pages are read in whole and take the write's content token.
 */
import { delay, type Co } from '../../engine/actor.js';
import { EFBIG, EINVAL, ENOMEM, type Errno } from '../errno.js';
import { filemap_read_folio, filemap_remove_folio } from '../filemap.js';
import type { Kernel } from '../kernel.js';
import { down_read, down_write, up_read, up_write } from '../locking.js';
import { vmas_in, type MmStruct } from '../mm_types.js';
import { folio_attach_buffers, folio_detach_buffers, folio_mark_dirty, write_cache_pages } from '../page-writeback.js';
import { truncate_pagecache_sequence } from '../truncate.js';
import { PAGE_ALIGN, PAGE_SIZE, PG_dirty, PG_private, PG_writeback, VM_SHARED } from '../types.js';
import { dax_break_layouts } from './dax.js';
import { hugetlbfs_punch_hole, hugetlbfs_read } from './hugetlbfs.js';
import type { Inode } from './inode.js';

/** The largest file size (ext4 with 4 KiB blocks: 16 TiB). */
export const MAX_LFS_FILESIZE = 16 * 1024 ** 4;

/** do_pread() - Return: the content tokens of the pages read (a read at or past EOF reads nothing). */
export function* do_pread(k: Kernel, inode: Inode, pos: number, len: number): Co<number[] | Errno> {
  yield* delay(k.timing.syscall, 'pread:enter');
  if (inode.huge_order) {
    // hugetlbfs_read_iter(): cached pages are copied out, holes read as zeros; nothing is allocated.
    const got = hugetlbfs_read(k, inode, pos, len);
    yield* delay(got.length * k.timing.cpuAccessPerPage, 'pread:page_copied');
    return got;
  }
  const tokens: number[] = [];
  const end = Math.min(pos + len, inode.i_size);
  for (let index = Math.floor(pos / PAGE_SIZE); index * PAGE_SIZE < end; index++) {
    const pfn = filemap_read_folio(k, inode, index);
    if (pfn < 0) return tokens.length ? tokens : ENOMEM;
    tokens.push(k.mem.contentOf(pfn));
    yield* delay(k.timing.cpuAccessPerPage, 'pread:page_copied');
  }
  return tokens;
}

/**
 * do_pwrite() - write @token into [pos, pos+len), extending i_size.
 * Return: 0, EFBIG, ENOMEM; EINVAL on hugetlbfs, which has no write path (no ->write_iter).
 */
export function* do_pwrite(k: Kernel, inode: Inode, pos: number, len: number, token: number): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'pwrite:enter');
  if (inode.huge_order) return EINVAL;
  if (pos + len > MAX_LFS_FILESIZE) return EFBIG;
  yield* down_write(inode.i_rwsem, k.actorName(), 'pwrite:i_rwsem');
  for (let index = Math.floor(pos / PAGE_SIZE); index * PAGE_SIZE < pos + len; index++) {
    const pfn = filemap_read_folio(k, inode, index, true);
    if (pfn < 0) { up_write(inode.i_rwsem); return ENOMEM; }
    // write_begin: buffer heads for filesystems that use them; write_end: the folio is dirty.
    if (inode.has_writeback && !inode.dax) folio_attach_buffers(k, pfn);
    k.mem.content[pfn] = token;
    k.emit({ type: 'file_write', time: k.now, actor: k.actorName(), file: inode.name, index, pfn, token });
    if (!inode.dax) folio_mark_dirty(k, pfn, 'generic_perform_write');
    yield* delay(k.timing.cpuAccessPerPage, 'pwrite:page_copied');
  }
  if (pos + len > inode.i_size) {
    k.emit({ type: 'i_size', time: k.now, actor: k.actorName(), file: inode.name, old: inode.i_size, size: pos + len });
    inode.i_size = pos + len;
  }
  up_write(inode.i_rwsem);
  return 0;
}

/** vfs_fsync_range() - write back @inode's dirty folios in [pos, pos+len) (whole file when len 0). */
export function* vfs_fsync_range(k: Kernel, inode: Inode, pos = 0, len = 0): Co<0> {
  yield* delay(k.timing.syscall, 'fsync:enter');
  const first = Math.floor(pos / PAGE_SIZE);
  yield* write_cache_pages(k, inode, first, len === 0 ? Infinity : Math.floor((pos + len - 1) / PAGE_SIZE));
  return 0;
}

/**
 * do_msync() - MS_SYNC writes back the shared file mappings of the range; MS_ASYNC does nothing
 * (since 2.6.19). Return: 0; EINVAL (unaligned, or MS_SYNC with MS_ASYNC); ENOMEM (unmapped part).
 */
export function* do_msync(k: Kernel, mm: MmStruct, start: number, len: number, flags: readonly string[]): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'msync:enter');
  if (start % PAGE_SIZE !== 0) return EINVAL;
  if (flags.includes('sync') && flags.includes('async')) return EINVAL;
  const end = start + PAGE_ALIGN(len);
  if (end === start) return 0;
  yield* down_read(mm.mmap_lock, 'msync:mmap_read_lock');
  const vmas = vmas_in(mm, start, end);
  let covered = start;
  for (const v of vmas) { if (v.vm_start > covered) break; covered = v.vm_end; }
  up_read(mm.mmap_lock);
  const hole = covered < end;
  if (flags.includes('async')) return hole ? ENOMEM : 0;
  // msync() syncs VMA after VMA and reports ENOMEM for the hole after it has done the rest.
  for (const v of vmas) {
    if (v.vm_start >= covered) break;
    if (!v.vm_file || !(v.vm_flags & VM_SHARED)) continue;
    const s = Math.max(start, v.vm_start), e = Math.min(end, v.vm_end);
    const first = v.linear_page_index(s);
    yield* write_cache_pages(k, v.vm_file, first, first + (e - s) / PAGE_SIZE - 1);
  }
  return hole ? ENOMEM : 0;
}

/**
 * drop_caches() - echo 1 > /proc/sys/vm/drop_caches: drop every clean, unmapped, unreferenced
 * folio of every file (buffers stripped first). Dirty, mapped, under-writeback or otherwise
 * referenced (pinned) folios stay. Kernel: invalidate_mapping_pages(), mapping_evict_folio().
 */
export function* drop_caches(k: Kernel): Co<0> {
  yield* delay(k.timing.syscall, 'drop_caches:enter');
  for (const inode of k.inodes.values()) {
    if (inode.dax || !inode.has_writeback) continue;
    const cached: number[] = [];
    // A large folio once, by its head.
    inode.i_mapping.i_pages.forEachIn(0, Infinity, (_i, v) => { if (k.mem.folio_head(v - 1) === v - 1) cached.push(v - 1); });
    for (const pfn of cached) {
      const f = k.mem.flagsOf(pfn);
      if (f & (PG_dirty | PG_writeback) || k.mem.folio_mapcount(pfn) > 0) continue;
      if (k.mem.refcount(pfn) > 1) continue;
      if (f & PG_private) folio_detach_buffers(k, pfn);
      filemap_remove_folio(k, pfn, 'invalidate');
    }
  }
  return 0;
}

/**
 * do_punch_hole() - fallocate(FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE): the range reads as zeros
 * afterwards. Pages wholly inside the hole are unmapped from the file's shared mappings and removed
 * from the page cache like truncate (a referenced folio is orphaned), while private COW copies of
 * them stay; DAX breaks layouts over the whole file first. i_size is unchanged. hugetlbfs works in
 * whole huge pages and unmaps private COW copies too (fs/hugetlbfs.ts).
 * Return: 0; EINVAL (length 0); EFBIG (beyond the largest file); the policy hook's or
 * break-layouts' errno.
 * Kernel: fs/ext4/inode.c ext4_punch_hole() (ext4_break_layouts(), truncate_pagecache_range());
 * fs/xfs/xfs_file.c xfs_file_fallocate() (xfs_break_layouts()); fs/hugetlbfs/inode.c
 * hugetlbfs_punch_hole().
 */
export function* do_punch_hole(k: Kernel, inode: Inode, offset: number, len: number): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'fallocate:enter');
  return yield* vfs_fallocate_punch_hole(k, inode, offset, len);
}

/**
 * vfs_fallocate_punch_hole() - do_punch_hole() past the syscall's entry: what MADV_REMOVE calls.
 * Context: takes i_rwsem for write; may sleep. Return: as do_punch_hole().
 * Kernel: fs/open.c vfs_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE).
 */
export function* vfs_fallocate_punch_hole(k: Kernel, inode: Inode, offset: number, len: number): Co<0 | Errno> {
  if (len === 0) return EINVAL;
  if (offset + len > MAX_LFS_FILESIZE) return EFBIG;
  if (inode.huge_order) return yield* hugetlbfs_punch_hole(k, inode, offset, len);
  yield* down_write(inode.i_rwsem, k.actorName(), 'fallocate:i_rwsem');
  const end = Math.min(offset + len, inode.i_size);
  if (offset >= end) { up_write(inode.i_rwsem); return 0; }
  const first = Math.ceil(offset / PAGE_SIZE), last = Math.floor(end / PAGE_SIZE) - 1;
  // truncate_pagecache_range(): the sequence truncate uses, without the i_size change. A hole that
  // covers no whole page still breaks a DAX file's layouts (its partial blocks are zeroed in place).
  let err: 0 | Errno = 0;
  if (first <= last) err = yield* truncate_pagecache_sequence(k, inode, first, last, null);
  else if (inode.dax) err = yield* dax_break_layouts(k, inode);
  up_write(inode.i_rwsem);
  return err;
}
