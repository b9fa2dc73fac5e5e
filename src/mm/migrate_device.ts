/**
 * migrate_vma: moving anonymous pages between system memory and a device's private memory.
 * Setup fires MMU_NOTIFY_MIGRATE with `owner` (the owning driver skips its own invalidation),
 * collects the pages the caller selected (system pages, or this owner's device pages), refuses a
 * page somebody else references (a DMA pin), and unmaps the rest; the driver allocates and fills
 * destinations; finalize installs them (a device-private entry, or a present PTE) and releases the
 * sources — or restores a source that got no destination.
 * Kernel: mm/migrate_device.c migrate_vma_setup(), migrate_vma_collect(), migrate_vma_pages(),
 * migrate_vma_finalize(). Simplified: order-0, anonymous private memory only, no THP.
 */
import { split_huge_pmd_all } from './huge_memory.js';
import type { Co } from '../engine/actor.js';
import { EINVAL, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import { MAPPING_ANON } from './mem_map.js';
import { PageAnonExclusive, SetPageAnonExclusive } from './page-flags.js';
import { set_pte_at, trace_pte_clear, vpn } from './memory.js';
import { PINSIM_BUG } from './mmdebug.js';
import {
  is_device_private_entry, mk_devpriv_pte, mk_pte, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE, type MmStruct, type VmAreaStruct,
} from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR, MMU_NOTIFY_MIGRATE,
} from './mmu_notifier.js';
import { PAGE_SIZE, VM_SHARED, VM_WRITE, ZERO_PFN } from './types.js';

export interface MigratePage {
  addr: number;
  /** the source frame, or -1 for an empty PTE (a fresh page is wanted) */
  src: number;
  /** MIGRATE_PFN_WRITE: the destination may be mapped writable */
  write: boolean;
  /** the source was the zero page */
  zero: boolean;
  /** the other processes mapping the same device page (fork shares them read-only), unmapped too */
  others?: MmStruct[];
}

export interface MigrateVma {
  vma: VmAreaStruct;
  pages: MigratePage[];
}

/**
 * migrate_vma_setup() - collect and unmap the pages of [start, end) in @vma that @select names:
 * `system` (present anonymous pages, the zero page and empty PTEs) or `device` (device-private
 * pages of @owner). Context: mmap_lock held for read; may sleep.
 * Return: the pages collected, or EINVAL for a hugetlb VMA.
 */
export function* migrate_vma_setup(
  k: Kernel, vma: VmAreaStruct, start: number, end: number, select: 'system' | 'device', owner: string,
): Co<MigrateVma | Errno> {
  // A hugetlb VMA is refused before anything happens.
  if (vma.vm_huge_order) return EINVAL;
  const mm = vma.vm_mm;
  // migrate_vma_collect_pmd(): a THP's PMD (or the huge zero page's) is split first.
  if (select === 'system' && mm.huge_pmds.size) yield* split_huge_pmd_all(k, mm, start, end);
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_MIGRATE, start, end);
  range.owner = owner;
  yield* mmu_notifier_invalidate_range_start(k, range);
  const pages: MigratePage[] = [];
  const anon = vma.vm_file === null && !(vma.vm_flags & VM_SHARED);
  for (let addr = start; addr < end; addr += PAGE_SIZE) {
    const pte = mm.pgtable.get(vpn(addr));
    const vm_write = (vma.vm_flags & VM_WRITE) !== 0;
    if (select === 'device') {
      if (!is_device_private_entry(pte) || k.pgmaps.owner.get(pte_pfn(pte)) !== owner) continue;
    } else {
      if (!anon || is_device_private_entry(pte)) continue;
      if (!pte_present(pte)) { pages.push({ addr, src: -1, write: vm_write, zero: true }); continue; }
      const pfn = pte_pfn(pte);
      if (pfn !== ZERO_PFN && k.mem.mapping[pfn] !== MAPPING_ANON) continue;
      // Simplified: a page of a (split) THP stays in system memory (the kernel would split the folio).
      if (pfn !== ZERO_PFN && k.mem.folio_order(pfn)) continue;
      // A reference beyond the mapping (a DMA pin) makes the page unmovable.
      if (pfn !== ZERO_PFN && k.mem.refcount(pfn) !== k.mem.mapcount(pfn)) continue;
    }
    const pfn = pte_pfn(pte);
    pages.push({ addr, src: pfn, write: pte_write(pte) || (pfn === ZERO_PFN && vm_write), zero: pfn === ZERO_PFN });
  }
  // Unmap the collected pages: their mapping reference now belongs to the migration.
  for (const p of pages) {
    if (p.src < 0) continue;
    mm.pgtable.set(vpn(p.addr), 0);
    trace_pte_clear(k, mm, p.addr, Int32Array.of(p.src), new Uint8Array(1));
    if (p.src !== ZERO_PFN) k.mem._mapcount[p.src] = k.mem.mapcount(p.src) - 1;
  }
  yield* mmu_notifier_invalidate_range_end(k, range);
  if (select === 'device') {
    for (const p of pages) if (p.src >= 0 && k.mem.mapcount(p.src) > 0) yield* try_to_migrate_others(k, mm, p);
  }
  return { vma, pages };
}

/**
 * try_to_migrate_others() - a device page fork shared is mapped by other processes too: the
 * migration unmaps those mappings as well (MMU_NOTIFY_CLEAR on each mm), and finalize maps the new
 * page there, so every sharer follows the page back to RAM.
 * Context: mmap_lock of @mm held; may sleep (the notifiers).
 * Return: nothing (@p.others lists the mms unmapped).
 * Kernel: mm/migrate_device.c migrate_device_unmap() → mm/rmap.c try_to_migrate(), try_to_migrate_one().
 * Simplified: the sharers are found at the same address (fork keeps it), not through the anon rmap.
 */
function* try_to_migrate_others(k: Kernel, mm: MmStruct, p: MigratePage): Co {
  const v = vpn(p.addr);
  for (const proc of k.processes.values()) {
    const other = proc.mm;
    if (other === mm || other.dead) continue;
    const pte = other.pgtable.get(v);
    if (!is_device_private_entry(pte) || pte_pfn(pte) !== p.src) continue;
    const range = mmu_notifier_range_init(k, other, MMU_NOTIFY_CLEAR, p.addr, p.addr + PAGE_SIZE);
    yield* mmu_notifier_invalidate_range_start(k, range);
    if (other.pgtable.get(v) === pte) {
      other.pgtable.set(v, 0);
      trace_pte_clear(k, other, p.addr, Int32Array.of(p.src), Uint8Array.of(0));
      k.mem._mapcount[p.src] = k.mem.mapcount(p.src) - 1;
      (p.others ??= []).push(other);
    }
    yield* mmu_notifier_invalidate_range_end(k, range);
  }
}

/**
 * migrate_vma_finalize() - install each destination (`dst[i]` a frame, or -1 for none) as a
 * device-private entry (@to_device) or a present PTE and release its source; a page without a
 * destination gets its source mapping back (its reference was kept while unmapped).
 */
export function migrate_vma_finalize(k: Kernel, mv: MigrateVma, dst: readonly number[], to_device: boolean): void {
  const map = (addr: number, pfn: number, write: boolean, take_ref: boolean, mm = mv.vma.vm_mm): void => {
    if (k.pgmaps.owner.has(pfn)) {
      mm.pgtable.set(vpn(addr), mk_devpriv_pte(pfn, write));
      if (take_ref) k.mem._refcount[pfn] = k.mem.refcount(pfn) + 1;
      k.mem._mapcount[pfn] = k.mem.mapcount(pfn) + 1;
      k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: addr, pfn, write, refcount: k.mem.refcount(pfn) });
    } else if (take_ref) set_pte_at(k, mm, addr, pfn, write ? PTE_WRITE | PTE_DIRTY : 0);
    else {
      mm.pgtable.set(vpn(addr), mk_pte(pfn, write ? PTE_WRITE | PTE_DIRTY : 0));
      if (pfn !== ZERO_PFN) k.mem._mapcount[pfn] = k.mem.mapcount(pfn) + 1;
      k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: addr, pfn, write, refcount: k.mem.refcount(pfn) });
    }
  };
  mv.pages.forEach((p, i) => {
    const d = dst[i] ?? -1;
    if (d < 0) {
      if (p.src >= 0) map(p.addr, p.src, p.write, false);
      for (const o of p.others ?? []) map(p.addr, p.src, false, false, o);
      return;
    }
    if (to_device !== k.pgmaps.owner.has(d)) PINSIM_BUG('migrate_vma_finalize: destination of the wrong kind');
    // The destination is as exclusive as its source was; a fresh page (none, or the zero page) is.
    if (p.src < 0 || p.src === ZERO_PFN || PageAnonExclusive(k, p.src)) SetPageAnonExclusive(k, d);
    map(p.addr, d, p.write, true);
    // remove_migration_ptes(): every sharer maps the new page, read-only as its entry was.
    for (const o of p.others ?? []) map(p.addr, d, false, true, o);
    // The source's mapping references go; the frame is freed unless someone else holds it.
    if (p.src >= 0 && p.src !== ZERO_PFN) k.folio_put_refs(p.src, 1 + (p.others?.length ?? 0));
  });
}
