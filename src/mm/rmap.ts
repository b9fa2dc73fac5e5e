/**
 * Device-exclusive access (5.14): make_device_exclusive() replaces a page's CPU PTE with a
 * device-exclusive entry so a device can do atomics on it; the page stays mapped (its reference and
 * mapcount stay). Any CPU touch faults, fires MMU_NOTIFY_EXCLUSIVE without an owner — the device
 * drops its exclusive mapping — and restores the PTE.
 * Kernel: mm/rmap.c make_device_exclusive() (MMU_NOTIFY_EXCLUSIVE with owner); mm/memory.c
 * remove_device_exclusive_entry(). Simplified: anonymous private pages, one page at a time.
 */
import type { Co } from '../engine/actor.js';
import { EBUSY, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import { MAPPING_ANON } from './mem_map.js';
import { trace_pte_clear, vpn } from './memory.js';
import { mk_exclusive_pte, mk_pte, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE, type VmAreaStruct } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_EXCLUSIVE,
} from './mmu_notifier.js';
import { PAGE_SIZE, VM_WRITE, ZERO_PFN } from './types.js';

/**
 * make_device_exclusive() - give @owner exclusive access to the page at @addr (already faulted in
 * writable by the caller). Context: mmap_lock held for read. Return: the pfn, or EBUSY when the page
 * is not a 4 KiB anonymous page mapped writable here.
 */
export function* make_device_exclusive(k: Kernel, vma: VmAreaStruct, addr: number, owner: string): Co<number | Errno> {
  const mm = vma.vm_mm;
  const pte = mm.pgtable.get(vpn(addr));
  if (!pte_present(pte) || !pte_write(pte)) return EBUSY;
  const pfn = pte_pfn(pte);
  // Only a 4 KiB anonymous page: a huge page's entry maps it whole and cannot become one page's.
  if (pfn === ZERO_PFN || k.mem.mapping[pfn] !== MAPPING_ANON || k.mem.folio_order(pfn)) return EBUSY;
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_EXCLUSIVE, addr, addr + PAGE_SIZE);
  range.owner = owner;
  yield* mmu_notifier_invalidate_range_start(k, range);
  mm.pgtable.set(vpn(addr), mk_exclusive_pte(pfn, true));
  trace_pte_clear(k, mm, addr, Int32Array.of(pfn), new Uint8Array(1));
  k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: addr, pfn, write: true, refcount: k.mem.refcount(pfn) });
  yield* mmu_notifier_invalidate_range_end(k, range);
  return pfn;
}

/**
 * remove_device_exclusive_entry() - a CPU touched a device-exclusive page: the device loses it
 * (MMU_NOTIFY_EXCLUSIVE, no owner) and the PTE comes back. Context: mmap_lock held for read.
 */
export function* remove_device_exclusive_entry(k: Kernel, vma: VmAreaStruct, addr: number, pte: number): Co {
  const mm = vma.vm_mm;
  const pfn = pte_pfn(pte);
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_EXCLUSIVE, addr, addr + PAGE_SIZE);
  yield* mmu_notifier_invalidate_range_start(k, range);
  mm.pgtable.set(vpn(addr), mk_pte(pfn, (vma.vm_flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY));
  k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: addr, pfn, write: (vma.vm_flags & VM_WRITE) !== 0, refcount: k.mem.refcount(pfn) });
  yield* mmu_notifier_invalidate_range_end(k, range);
}
