/**
 * Dirtying folios: folio_mark_dirty() through the filesystem's dirty hook, and the ext4 check that a
 * dirtied folio has buffers. Writeback itself (the S0–S7 sequence) arrives with the policies issue.
 * Kernel: mm/page-writeback.c folio_mark_dirty(), set_page_dirty_lock(); fs/ext4/inode.c
 * ext4_dirty_folio() (WARN_ON_ONCE without buffers, 4.10+).
 */
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { WARN_ON_ONCE } from './mmdebug.js';
import { PG_dirty, PG_private } from './types.js';

/**
 * folio_mark_dirty() - set PG_dirty on @pfn. A folio with a mapping goes through its filesystem's
 * dirty hook (ext4 WARNs when there are no buffers); an orphaned or anonymous folio just gets the
 * flag (noop_dirty_folio): dirtying it reaches no file.
 * Context: @via names the caller for traces (zap, unpin, fault).
 */
export function folio_mark_dirty(k: Kernel, pfn: number, via: string): void {
  const m = k.mem;
  const f = m.flags[pfn] as number;
  const ino = (m.mapping[pfn] as number) > 0 ? (k.inodeById[m.mapping[pfn] as number] as Inode) : null;
  const buffers = (f & PG_private) !== 0;
  if (ino && ino.checks_buffers && k.features.ext4_dirty_nobuffers_warn) {
    WARN_ON_ONCE(k, !buffers, 'fs/ext4/inode.c:ext4_dirty_folio', pfn,
      `page:pfn ${pfn} index:${m.index[pfn]} mapping:${ino.name} refcount:${m._refcount[pfn]} flags:dirty without buffers`);
  }
  if (f & PG_dirty) return;
  m.flags[pfn] = f | PG_dirty;
  const o = k.owner_of(pfn);
  k.emit({ type: 'folio_dirty', time: k.now, actor: k.actorName(), pfn, file: o.file, index: o.index, buffers, via });
}

/** set_page_dirty_lock() - folio_mark_dirty() under the folio lock. Simplified: the lock is not modelled. */
export function set_page_dirty_lock(k: Kernel, pfn: number, via: string): void {
  folio_mark_dirty(k, pfn, via);
}

/** folio_attach_buffers() - create buffer heads for @pfn (block_page_mkwrite, write_begin). */
export function folio_attach_buffers(k: Kernel, pfn: number): void {
  const f = k.mem.flags[pfn] as number;
  if (f & PG_private) return;
  k.mem.flags[pfn] = f | PG_private;
  const o = k.owner_of(pfn);
  k.emit({ type: 'folio_buffers', time: k.now, actor: k.actorName(), pfn, file: o.file, index: o.index, attached: true });
}

/** folio_detach_buffers() - drop @pfn's buffer heads (truncate's invalidate_folio, reclaim). */
export function folio_detach_buffers(k: Kernel, pfn: number): void {
  const f = k.mem.flags[pfn] as number;
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
  const ino = (k.mem.mapping[pfn] as number) > 0 ? (k.inodeById[k.mem.mapping[pfn] as number] as Inode) : null;
  if (ino && ino.has_writeback) folio_attach_buffers(k, pfn);
  folio_mark_dirty(k, pfn, 'page_mkwrite');
}
