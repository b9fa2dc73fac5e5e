/**
 * The page cache: lookup, insertion (reading from storage) and removal of folios of a file.
 * Kernel: mm/filemap.c filemap_get_folio(), filemap_add_folio(), filemap_remove_folio(),
 * filemap_fault(). Simplified: no readahead, storage I/O takes no simulated time, the xarray is a
 * radix of typed leaves.
 */
import type { AddressSpace, Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { MAPPING_NONE } from './mem_map.js';
import { PageArrays } from './page_arrays.js';
import { alloc_user_page } from './mmzone.js';
import { PG_dax, PG_dirty, PG_uptodate, pages_in } from './types.js';
import type { MmEventOf } from './trace_events.js';
import { HPAGE_PMD_ORDER } from './hugetlb.js';

/** filemap_get_folio() - the folio at @index, or -1. */
export function filemap_get_folio(mapping: AddressSpace, index: number): number {
  return mapping.i_pages.get(index) - 1;
}

/**
 * filemap_get_page() - the page of the file at @index, or -1: every page of a large folio (a
 * hugetlbfs huge page, a THP or large page-cache folio) has its own entry, its own pfn.
 * Kernel: mm/filemap.c filemap_get_folio() + folio_file_page().
 */
export function filemap_get_page(mapping: AddressSpace, index: number): number {
  return mapping.i_pages.get(index) - 1;
}

/**
 * filemap_add_folio() - insert the new frame @pfn at @index; the page cache takes its reference.
 * Pairs with filemap_remove_folio().
 */
export function filemap_add_folio(k: Kernel, mapping: AddressSpace, pfn: number, index: number, nr = 1): void {
  const m = k.mem;
  // A large folio: every page of it has its own entry (the xarray's multi-index entry), one reference.
  if (nr === 1) {
    mapping.i_pages.set(index, pfn + 1);
    m.mapping[pfn] = mapping.host.id;
    m.index[pfn] = index;
  } else {
    mapping.i_pages.setRun(index, nr, pfn + 1, 1);
    m.mapping.fill(mapping.host.id, pfn, pfn + nr);
    for (let i = 0; i < nr; i++) m.index[pfn + i] = index + i;
  }
  m._refcount[pfn] = m.refcount(pfn) + 1;
  const ev: MmEventOf<'filemap_add'> = { type: 'filemap_add', time: k.now, actor: k.actorName(), file: mapping.host.name, index, pfn, gen: m.genOf(pfn), refcount: m.refcount(pfn) };
  if (nr > 1) ev.nr = nr;
  k.emit(ev);
}

/**
 * filemap_remove_folio() - take @pfn out of its file's page cache and drop the cache's reference.
 * A frame someone else still references survives, orphaned (mapping NULL), as truncate leaves a page it could not free.
 * Pairs with filemap_add_folio().
 */
export function filemap_remove_folio(k: Kernel, page: number, reason: string): void {
  // A page of a large folio: the whole folio goes.
  const pfn = k.mem.folio_head(page);
  delete_from_page_cache_batch(k, k.inodeById[k.mem.mappingOf(pfn)] as Inode, [pfn], reason);
}

/**
 * delete_from_page_cache_batch() - take the folios @pfns (their heads, all of @inode, in index
 * order) out of its page cache together, traced as one `filemap_remove`, then drop the cache's
 * references as one batch (folio_batch_release()): a folio nobody else references is freed, one
 * that is referenced survives, orphaned. A large folio goes whole (the cache holds one reference
 * on it). Context: the folios locked, no preemption point inside. Return: nothing.
 * Kernel: mm/filemap.c delete_from_page_cache_batch(); mm/swap.c folio_batch_release().
 */
export function delete_from_page_cache_batch(k: Kernel, inode: Inode, pfns: ArrayLike<number>, reason: string): void {
  const m = k.mem;
  const n = pfns.length;
  const cols = new PageArrays(n, 1, 3, 0);
  const ev = { indices: cols.f64(), pfns: cols.i32(), refcounts: cols.i32(), pincounts: cols.i32() };
  let nrs: Int32Array | null = null;
  for (let i = 0; i < n; i++) {
    const pfn = pfns[i] as number;
    const index = m.indexOf(pfn);
    const order = m.folio_order(pfn);
    if (order === 0) {
      inode.i_mapping.i_pages.set(index, 0);
      m.mapping[pfn] = MAPPING_NONE;
    } else {
      // Every page of a large folio has its own entry (the xarray's multi-index entry).
      inode.i_mapping.i_pages.setRun(index, 2 ** order, 0, 0);
      m.mapping.fill(MAPPING_NONE, pfn, pfn + 2 ** order);
      (nrs ??= new Int32Array(n).fill(1))[i] = 2 ** order;
    }
    ev.indices[i] = index;
    ev.pfns[i] = pfn;
    ev.refcounts[i] = m.refcount(pfn) - 1;
    ev.pincounts[i] = m.pincount(pfn);
  }
  if (nrs) k.emit({ type: 'filemap_remove', time: k.now, actor: k.actorName(), file: inode.name, reason, ...ev, nrs });
  else k.emit({ type: 'filemap_remove', time: k.now, actor: k.actorName(), file: inode.name, reason, ...ev });
  k.folios_put_refs(pfns, 0, n, 1);
}

/**
 * filemap_read_folio() - find or read in the folio at @index (content from storage).
 * Return: the pfn, or -1 when memory is exhausted.
 */
export function filemap_read_folio(k: Kernel, inode: Inode, index: number, write = false): number {
  const got = filemap_get_folio(inode.i_mapping, index);
  if (got >= 0) return got;
  const order = write ? inode.folio_order_write : inode.folio_order;
  if (order) {
    const page = filemap_alloc_large_folio(k, inode, index, order);
    if (page >= 0) return page;
  }
  const pfn = alloc_user_page(k);
  if (pfn < 0) return -1;
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn, gen: k.mem.genOf(pfn), owner: 'file', file: inode.name, index });
  k.mem.content[pfn] = inode.storage.get(index) ?? 0;
  // fsdax: the frame is the block itself (ZONE_DEVICE memory in the kernel).
  k.mem.flags[pfn] = inode.dax ? PG_uptodate | PG_dax : PG_uptodate;
  filemap_add_folio(k, inode.i_mapping, pfn, index);
  return pfn;
}

/**
 * The cached pages of indexes [first, last], a large folio's page by page (a reference may hold
 * any of them; hugetlbfs ranges are whole huge pages).
 */
export function filemap_pfns_in(mapping: AddressSpace, first: number, last: number): number[] {
  const out: number[] = [];
  mapping.i_pages.forEachIn(first, last, (_i, v) => { out.push(v - 1); });
  return out;
}

/**
 * filemap_alloc_large_folio() - read in a folio of up to 2^@order pages holding @index, as
 * readahead (page_cache_ra_order()) would: naturally aligned, no larger than what lies before EOF,
 * not overlapping a folio already cached, and of the largest order that fits and that an aligned
 * free block is found for. Return: the page of @index, or -1 (the caller falls back to 4 KiB).
 * Kernel: mm/readahead.c page_cache_ra_order(), mm/filemap.c filemap_alloc_folio(), __filemap_add_folio().
 */
function filemap_alloc_large_folio(k: Kernel, inode: Inode, index: number, order: number): number {
  const eof = pages_in(inode.i_size);
  for (let o = order; o > 0; o--) {
    const nr = 2 ** o, first = index - (index % nr);
    if (first + nr > eof) continue;
    let busy = false;
    inode.i_mapping.i_pages.forEachIn(first, first + nr - 1, () => { busy = true; });
    if (busy) continue;
    const head = k.alloc.alloc_pages(o);
    if (head < 0) continue;
    k.movable.add(head, nr);
    const m = k.mem;
    k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: head, gen: m.genOf(head), owner: 'file', file: inode.name, index: first, nr });
    for (let i = 0; i < nr; i++) m.content[head + i] = inode.storage.get(first + i) ?? 0;
    m.flags[head] = m.flagsOf(head) | PG_uptodate;
    filemap_add_folio(k, inode.i_mapping, head, first, nr);
    return head + (index - first);
  }
  return -1;
}

/**
 * mapping_set_folio_order() - the folio orders @inode's page cache uses for a `folioSize` of
 * 2^@order pages, as far as its filesystem and the era allow: tmpfs in every era but only 4 KiB or
 * 2 MiB before 6.14; xfs from 5.18 on reads and faults, from 6.6 on buffered writes too; ext4 from
 * 6.16; never for fsdax (no page cache) or hugetlbfs. Return: null, or a note saying what the file
 * uses instead of what was asked. Kernel: include/linux/pagemap.h mapping_set_large_folios();
 * fs/xfs/xfs_icache.c xfs_inode_alloc() (5.18); mm/shmem.c (huge=, 6.14: any order); fs/ext4 (6.16).
 */
export function mapping_set_folio_order(k: Kernel, inode: Inode, order: number): string | null {
  const f = k.features, v = `linux-${f.version[0]}.${f.version[1]}`;
  const size = order >= 8 ? `${2 ** order / 256}M` : `${2 ** order * 4}K`;
  let read = order, write = order, why = '';
  if (inode.dax || inode.huge_order) { read = write = 0; why = 'an fsdax file has no page cache folios'; }
  else if (inode.fs === 'tmpfs') {
    if (order !== HPAGE_PMD_ORDER && !f.shmem_any_order) { read = write = 0; why = `tmpfs in ${v} offers 4K or 2M folios only (any size from 6.14)`; }
  } else if (inode.fs === 'xfs') {
    if (!f.xfs_large_folios) { read = write = 0; why = `xfs has large folios from 5.18`; }
    else if (!f.large_folio_writes) { write = 0; why = `xfs in ${v} makes them on reads and faults only: buffered writes allocate 4K folios until 6.6`; }
  } else if (!f.ext4_large_folios) { read = write = 0; why = `ext4 has large folios from 6.16`; }
  inode.folio_order = read;
  inode.folio_order_write = write;
  if (!why) return null;
  return read === 0 ? `file ${inode.name}: folioSize ${size} not used, 4K folios instead: ${why}` : `file ${inode.name}: folioSize ${size}: ${why}`;
}

/** Is @index beyond EOF of @inode? (the fault answers SIGBUS) */
export function index_beyond_eof(inode: Inode, index: number): boolean {
  return index >= pages_in(inode.i_size);
}

/** folio_test_dirty() - of @pfn's folio (a large folio's flags are its head's). */
export function folio_test_dirty(k: Kernel, pfn: number): boolean {
  return (k.mem.flagsOf(k.mem.folio_head(pfn)) & PG_dirty) !== 0;
}
