/**
 * Compaction (kcompactd): anonymous pages are migrated to defragment memory. Its isolation step
 * pre-filters pages whose reference count exceeds what their mappings explain — a DMA reference —
 * and skips them *before any notifier fires*, unlike migrate_pages(), which fires the notifier first
 * and then finds the reference.
 * Compaction stops when there is nothing to gain: a page it migrated is where it put it, and
 * moving it again gains nothing, so a later pass leaves it alone. (In the kernel the migrate
 * scanner does not re-scan what it compacted, migrated pages land beyond it on the free scanner's
 * side, and kcompactd sleeps while the zone is compacted.) Without this, a period shorter than an
 * ODP fault re-migrated the same pages every pass, and each MMU_NOTIFY_MIGRATE made the device's
 * fault retry, starving it until the HMM timeout.
 * Kernel: mm/compaction.c isolate_migratepages_block(), compact_zone(), compact_finished().
 * Simplified: up to COMPACT_CLUSTER_MAX pages a pass, process by process, in address order; no
 * zones, watermarks or fragmentation index: "already migrated by kcompactd" stands for "in place".
 */
import type { Co } from '../engine/actor.js';
import type { Kernel } from './kernel.js';
import { MAPPING_ANON } from './mem_map.js';
import { do_migrate_pages } from './migrate.js';
import { vpn } from './memory.js';
import { pte_pfn, pte_present } from './mm_types.js';
import { PAGE_SIZE, ZERO_PFN } from './types.js';

const COMPACT_CLUSTER_MAX = 32;

/**
 * compact_zone() - migrate up to COMPACT_CLUSTER_MAX unreferenced anonymous pages that kcompactd
 * has not already put in place. Context: kcompactd; may sleep. Return: the pages moved (0: nothing
 * to gain, and no notifier fired).
 */
export function* compact_zone(k: Kernel): Co<number> {
  let moved = 0;
  for (const p of k.processes.values()) {
    if (!p.alive || p.mm.dead) continue;
    const candidates: number[] = [];
    p.mm.pgtable.forEachIn(0, Infinity, (v, pte) => {
      if (!pte_present(pte)) return;
      const pfn = pte_pfn(pte);
      if (pfn === ZERO_PFN || k.mem.mapping[pfn] !== MAPPING_ANON) return;
      // Huge pages are not compaction's to move (isolate_migratepages_block() skips them).
      if (k.mem.folio_order(pfn)) return;
      // isolate_migratepages_block(): an extra reference means "pinned, skip" (no notifier).
      if (k.mem.refcount(pfn) > k.mem.mapcount(pfn)) return;
      // A page compaction already migrated is in place: nothing to gain by moving it again.
      if (k.compacted.get(pfn) === k.mem.genOf(pfn)) return;
      candidates.push(v * PAGE_SIZE);
    });
    for (const va of candidates) {
      if (moved >= COMPACT_CLUSTER_MAX) return moved;
      const before = pte_pfn(p.mm.pgtable.get(vpn(va)));
      if ((yield* do_migrate_pages(k, p.mm, va, PAGE_SIZE)) !== 0) continue;
      moved++;
      const pte = p.mm.pgtable.get(vpn(va));
      const now = pte_pfn(pte);
      if (pte_present(pte) && now !== before) k.compacted.set(now, k.mem.genOf(now));
    }
  }
  return moved;
}
