/**
 * split_folio(): a large folio that nothing but its mappings and its page cache entry references
 * becomes order-0 folios, each page keeping its mappings and its place in the page cache. A folio
 * with any other reference (a DMA pin, a FOLL_GET reference, migration's) cannot be split: the
 * kernel refuses when the refcount is not what the mappings and the cache explain.
 * Kernel: mm/huge_memory.c split_folio() → split_huge_page_to_list_to_order(), can_split_folio(),
 * __split_huge_page(). Simplified: a folio still mapped whole by a PMD is not split (the callers
 * unmap that first), and the split takes no simulated time of its own.
 */
import type { Kernel } from './kernel.js';
import { PG_FLAGS_MASK } from './mem_map.js';

/**
 * can_split_folio() - does the folio headed by @head have no reference but its PTEs' and, cached,
 * its page cache's? (pinsim's page cache holds one reference per folio.)
 */
export function can_split_folio(k: Kernel, head: number): boolean {
  const m = k.mem;
  if (m.folio_order(head) === 0 || m.folio_entire_mapcount(head) !== 0) return false;
  const cached = m.mappingOf(head) > 0 ? 1 : 0;
  return m.pincount(head) === 0 && m.refcount(head) === cached + m.folio_mapcount(head);
}

/**
 * split_folio() - split the large folio headed by @head into order-0 folios when it may be split.
 * Each page gets the head's flags, its own reference for the page cache (if cached) and one per PTE
 * mapping it. Return: true when split. Context: any (nothing sleeps).
 */
export function split_folio(k: Kernel, head: number): boolean {
  if (!can_split_folio(k, head)) return false;
  const m = k.mem;
  const nr = m.folio_nr_pages(head);
  const cached = m.mappingOf(head) > 0 ? 1 : 0;
  m.flags.fill(m.flagsOf(head) & PG_FLAGS_MASK, head, head + nr);
  m._refcount[head] = cached + m.mapcount(head);
  for (let p = head + 1; p < head + nr; p++) {
    const refs = cached + m.mapcount(p);
    m._refcount[p] = refs;
    k.emit({ type: 'folio_split', time: k.now, actor: k.actorName(), pfn: p, head, refs, moved: m.mapcount(p) });
  }
  k.movable.split(head, nr);
  return true;
}
