/**
 * migrate_pages() as NUMA balancing or move_pages(2) do it: for each page, unmap it with
 * MMU_NOTIFY_CLEAR first (notifier devices drop their translations), then check the reference
 * count against what the mappings and the page cache account for. A page with another reference (a
 * DMA pin) cannot move: its mapping is restored and the call reports EBUSY. Otherwise a new frame
 * gets the content and takes the old one's place in the page cache or the page table.
 * Kernel: mm/migrate.c migrate_pages(), migrate_folio_unmap(), folio_migrate_mapping() (the refcount
 * check), remove_migration_ptes(). Simplified: one pass (no 10 retries), this mm's mappings only.
 */
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EBUSY, EINVAL, ENOMEM, type Errno } from './errno.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { down_read, up_read } from './locking.js';
import { MAPPING_ANON } from './mem_map.js';
import { alloc_user_page } from './mmzone.js';
import { ptep_clear, set_pte_at, tlb_finish_mmu, vpn } from './memory.js';
import { pte_dirty, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE, type MmStruct } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR,
} from './mmu_notifier.js';
import { PAGE_ALIGN, PAGE_SIZE, ZERO_PFN } from './types.js';

/** do_migrate_pages() - Return: 0 when every page moved; EBUSY when some could not; EINVAL unaligned. */
export function* do_migrate_pages(k: Kernel, mm: MmStruct, start: number, len: number): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'migrate:enter');
  if (start % PAGE_SIZE !== 0) return EINVAL;
  const end = start + PAGE_ALIGN(len);
  let err: 0 | Errno = 0;
  yield* down_read(mm.mmap_lock, 'migrate:mmap_read_lock');
  for (let va = start; va < end; va += PAGE_SIZE) {
    const pte = mm.pgtable.get(vpn(va));
    if (!pte_present(pte) || pte_pfn(pte) === ZERO_PFN) continue;
    const old = pte_pfn(pte);
    const m = k.mem;
    const inode = (m.mapping[old] as number) > 0 ? (k.inodeById[m.mapping[old] as number] as Inode) : null;
    if (!inode && m.mapping[old] !== MAPPING_ANON) continue;
    // try_to_migrate_one(): the notifier fires before the reference check.
    const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, va, va + PAGE_SIZE);
    yield* mmu_notifier_invalidate_range_start(k, range);
    yield* schedPoint('migrate:after_notifier_start');
    const gather: number[] = [];
    ptep_clear(k, mm, va, gather);
    yield* mmu_notifier_invalidate_range_end(k, range);
    const expected = (inode ? 1 : 0) + (m._mapcount[old] as number) + gather.length;
    const bits = (pte_write(pte) ? PTE_WRITE : 0) | (pte_dirty(pte) ? PTE_DIRTY : 0);
    if ((m._refcount[old] as number) !== expected) {
      // folio_migrate_mapping() refuses: restore the original mapping.
      set_pte_at(k, mm, va, old, bits);
      tlb_finish_mmu(k, gather);
      err = EBUSY;
      continue;
    }
    const npfn = alloc_user_page(k);
    if (npfn < 0) {
      set_pte_at(k, mm, va, old, bits);
      tlb_finish_mmu(k, gather);
      err = ENOMEM;
      continue;
    }
    m.content[npfn] = m.content[old] as number;
    m.flags[npfn] = m.flags[old] as number;
    m.mapping[npfn] = m.mapping[old] as number;
    m.index[npfn] = m.index[old] as number;
    k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: npfn, gen: m.gen[npfn] as number, owner: inode ? 'file' : `anon:${mm.owner}`, file: inode?.name ?? '', index: inode ? (m.index[old] as number) : -1 });
    if (inode) {
      // The page cache's reference moves to the new folio.
      const index = m.index[old] as number;
      inode.i_mapping.i_pages.set(index, npfn + 1);
      m._refcount[npfn] = 1;
      k.emit({ type: 'filemap_remove', time: k.now, actor: k.actorName(), file: inode.name, index, pfn: old, gen: m.gen[old] as number, refcount: (m._refcount[old] as number) - 1, pincount: m._pincount[old] as number, reason: 'migrate' });
      k.emit({ type: 'filemap_add', time: k.now, actor: k.actorName(), file: inode.name, index, pfn: npfn, gen: m.gen[npfn] as number, refcount: 1 });
      k.folio_put_refs(old, 1);
    }
    k.emit({ type: 'folio_migrate', time: k.now, actor: k.actorName(), old, new: npfn, mm: mm.owner, va });
    set_pte_at(k, mm, va, npfn, bits);
    tlb_finish_mmu(k, gather);
    yield* delay(k.timing.fault, 'migrate:page_copied');
  }
  up_read(mm.mmap_lock);
  return err;
}
