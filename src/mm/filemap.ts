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

/** filemap_get_folio() - the folio at @index, or -1. */
export function filemap_get_folio(mapping: AddressSpace, index: number): number {
  return mapping.i_pages.get(index) - 1;
}

/**
 * filemap_get_page() - the page of the file at @index: in a hugetlbfs file, the page of the huge
 * page cached at the huge page's first index (its head's pfn plus the offset); or -1.
 * Kernel: mm/filemap.c filemap_get_folio() + folio_file_page().
 */
export function filemap_get_page(mapping: AddressSpace, index: number): number {
  const order = mapping.host.huge_order;
  if (order === 0) return mapping.i_pages.get(index) - 1;
  const off = index % 2 ** order;
  const head = mapping.i_pages.get(index - off) - 1;
  return head < 0 ? -1 : head + off;
}

/**
 * filemap_add_folio() - insert the new frame @pfn at @index; the page cache takes its reference.
 * Pairs with filemap_remove_folio().
 */
export function filemap_add_folio(k: Kernel, mapping: AddressSpace, pfn: number, index: number): void {
  const m = k.mem;
  mapping.i_pages.set(index, pfn + 1);
  m.mapping[pfn] = mapping.host.id;
  m.index[pfn] = index;
  m._refcount[pfn] = m.refcount(pfn) + 1;
  k.emit({ type: 'filemap_add', time: k.now, actor: k.actorName(), file: mapping.host.name, index, pfn, gen: m.genOf(pfn), refcount: m.refcount(pfn) });
}

/**
 * filemap_remove_folio() - take @pfn out of its file's page cache and drop the cache's reference.
 * A frame someone else still references survives, orphaned (mapping NULL), as truncate leaves a page it could not free.
 * Pairs with filemap_add_folio().
 */
export function filemap_remove_folio(k: Kernel, pfn: number, reason: string): void {
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
    inode.i_mapping.i_pages.set(index, 0);
    const order = m.folio_order(pfn);
    if (order === 0) m.mapping[pfn] = MAPPING_NONE;
    else {
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
export function filemap_read_folio(k: Kernel, inode: Inode, index: number): number {
  const got = filemap_get_folio(inode.i_mapping, index);
  if (got >= 0) return got;
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
 * The cached pages of indexes [first, last]: each folio's pfn, and every page of a huge page (a
 * reference may hold any of them). A huge page cached at its first index counts when that index is
 * in the range (hugetlbfs works in whole huge pages).
 */
export function filemap_pfns_in(mapping: AddressSpace, first: number, last: number): number[] {
  const out: number[] = [];
  const nr = 2 ** mapping.host.huge_order;
  mapping.i_pages.forEachIn(first, last, (_i, v) => {
    for (let p = v - 1; p < v - 1 + nr; p++) out.push(p);
  });
  return out;
}

/** Is @index beyond EOF of @inode? (the fault answers SIGBUS) */
export function index_beyond_eof(inode: Inode, index: number): boolean {
  return index >= pages_in(inode.i_size);
}

/** folio_test_dirty() */
export function folio_test_dirty(k: Kernel, pfn: number): boolean {
  return (k.mem.flagsOf(pfn) & PG_dirty) !== 0;
}
