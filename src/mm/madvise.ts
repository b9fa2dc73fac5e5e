/**
 * madvise(). MADV_DONTNEED zaps the range (MMU_NOTIFY_CLEAR): an anonymous page a device still
 * references survives unmapped, and the next CPU touch maps a new zero page, so CPU and device
 * diverge; file pages stay cached and re-fault to the same page. MADV_FREE (4.5, private anonymous
 * memory only) leaves the pages mapped but clean and lazily freeable: reclaim may later discard one
 * the CPU has not written since (vmscan.ts), a reference beyond its mappings keeping it only from
 * 5.18. MADV_REMOVE punches a hole in the file behind a shared mapping (truncate_pagecache_range()
 * of the filesystem's fallocate), with the notifiers and orphaned pages of a punch. On a hugetlb
 * VMA, MADV_DONTNEED is EINVAL before 5.18; from 5.18 the start must be huge page aligned (EINVAL)
 * and whole huge pages are zapped, the end rounded up to one (5.18–6.0) or down (6.1+: a partial
 * huge page is kept, and a range that rounds to nothing does nothing); MADV_FREE is EINVAL.
 * Kernel: mm/madvise.c do_madvise(), madvise_dontneed_single_vma(), madvise_free_single_vma(),
 * madvise_free_pte_range(), madvise_remove(), madvise_dontneed_free_valid_vma() (5.18:
 * 90e7e7f5ef3f; 6.1: 8ebe0a5eaaeb).
 */
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EACCES, EINVAL, ENOMEM, type Errno } from './errno.js';
import { vfs_fallocate_punch_hole } from './fs/read_write.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { down_read, down_write, up_read, up_write } from './locking.js';
import { MAPPING_ANON } from './mem_map.js';
import { vpn, zap_page_range_single } from './memory.js';
import { mk_pte, pte_pfn, pte_present, pte_write, PTE_WRITE, vmas_in, type MmStruct, type VmAreaStruct } from './mm_types.js';
import { split_at } from './mmap.js';
import { hugetlb_vm_op_split, vma_huge_size } from './hugetlb_fault.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR,
} from './mmu_notifier.js';
import {
  PAGE_ALIGN, PAGE_SIZE, PG_dirty, PG_lazyfree, VM_DONTCOPY, VM_HUGEPAGE, VM_IO, VM_LOCKED, VM_MAYWRITE, VM_NOHUGEPAGE, VM_PFNMAP, VM_SHARED, VM_WRITE, ZERO_PFN,
} from './types.js';
import { HPAGE_PMD_NR, madvise_free_split_huge_pmd, pmd_trans_huge, split_huge_pmd_range } from './huge_memory.js';
import { split_folio } from './folio_split.js';
import { madvise_collapse } from './khugepaged.js';

/** The advice words of the scenario format; do_madvise() models all but the THP ones. */
export type MadviseAdvice = 'dontneed' | 'free' | 'remove' | 'dontfork' | 'dofork' | 'hugepage' | 'nohugepage' | 'collapse';

/**
 * do_madvise() - Context: takes mmap_lock (MADV_REMOVE drops it around the punch); may sleep.
 * Return: 0; EINVAL for an unaligned start, a locked/PFNMAP VMA, MADV_DONTNEED on a hugetlb VMA the
 * era refuses, MADV_FREE of a VMA that is not private anonymous, MADV_REMOVE of one without a file;
 * EACCES for MADV_REMOVE of a mapping that is not shared and writable; ENOMEM when part of the range
 * is unmapped (the mapped parts are still advised). A zero length succeeds.
 */
export function* do_madvise(k: Kernel, mm: MmStruct, start: number, len: number, advice: MadviseAdvice): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'madvise:enter');
  if (start % PAGE_SIZE !== 0) return EINVAL;
  if (len === 0) return 0;
  const end = start + PAGE_ALIGN(len);
  if (advice === 'dontfork' || advice === 'dofork') return yield* madvise_vma_flags(k, mm, start, end, advice);
  if (advice === 'hugepage' || advice === 'nohugepage') return yield* madvise_vma_flags(k, mm, start, end, advice);
  if (advice === 'collapse') return yield* madvise_collapse(k, mm, start, end);
  if (advice === 'remove') return yield* madvise_remove(k, mm, start, end);
  if (advice !== 'dontneed' && advice !== 'free') return EINVAL;
  yield* down_read(mm.mmap_lock, 'madvise:mmap_read_lock');
  let err: 0 | Errno = 0;
  let covered = start;
  for (const vma of vmas_in(mm, start, end)) {
    if (vma.vm_start > covered) err = ENOMEM;
    if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP)) { err = EINVAL; break; }
    const s = Math.max(start, vma.vm_start);
    let e = Math.min(end, vma.vm_end);
    if (advice === 'free') {
      // vma_is_anonymous(): a private anonymous mapping (shared anonymous memory is shmem; a
      // hugetlb VMA has its own vm_ops).
      if (vma.vm_file !== null || vma.vm_flags & VM_SHARED || vma.vm_huge_order) { err = EINVAL; break; }
      yield* madvise_free_single_vma(k, vma, s, e);
    } else {
      if (vma.vm_huge_order) {
        const size = vma_huge_size(vma);
        if (!k.features.madv_dontneed_hugetlb || s % size !== 0) { err = EINVAL; break; }
        e = (k.features.madv_dontneed_hugetlb_round_down ? Math.floor(e / size) : Math.ceil(e / size)) * size;
      }
      if (e > s) yield* zap_page_range_single(k, vma, s, e);
    }
    covered = vma.vm_end;
  }
  if (covered < end && !err) err = ENOMEM;
  up_read(mm.mmap_lock);
  return err;
}

/**
 * madvise_free_single_vma() - MADV_FREE of [@start, @end) of a private anonymous @vma: under
 * MMU_NOTIFY_CLEAR, every present anonymous page mapped only here loses its dirty state (folio and
 * PTE) and becomes lazily freeable; the PTEs stay. A page shared with another process (after fork)
 * is left alone. A THP the range covers in part is split first when it can be; a PMD-mapped THP
 * it covers whole is left alone (pinsim's reclaim discards 4 KiB pages only).
 * Context: mmap_lock held for read; may sleep.
 * Return: nothing. Kernel: mm/madvise.c madvise_free_single_vma(), madvise_free_pte_range(),
 * mm/swap.c folio_mark_lazyfree().
 */
function* madvise_free_single_vma(k: Kernel, vma: VmAreaStruct, start: number, end: number): Co {
  const mm = vma.vm_mm;
  // A THP the range covers in part is split first when it can be (pinsim splits before the range's notifier).
  yield* madvise_free_split_huge_pmd(k, mm, start, end);
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, start, end);
  yield* mmu_notifier_invalidate_range_start(k, range);
  // The pages are still mapped dirty here; a device (or another CPU) may write them.
  yield* schedPoint('madvise:free_after_notifier_start');
  const m = k.mem;
  let n = 0, skipTo = -1;
  mm.pgtable.forEachIn(vpn(start), vpn(end - 1), (v, pte) => {
    if (!pte_present(pte) || v < skipTo) return;
    const pfn = pte_pfn(pte);
    if (pfn === ZERO_PFN || m.mapping[pfn] !== MAPPING_ANON) return;
    // A THP still mapped by its PMD (the range covers it whole, or it could not be split): left as
    // it is (pinsim does not reclaim anonymous THP). A page of a PTE-mapped large folio: the folio
    // is split first; when it cannot be, the rest of the page table is skipped, as the kernel stops
    // its walk there.
    if (m.folio_order(pfn)) {
      if (pmd_trans_huge(mm, v * PAGE_SIZE)) return;
      if (m.mapcount(pfn) !== 1 || !split_folio(k, m.folio_head(pfn))) {
        skipTo = (Math.floor(v / HPAGE_PMD_NR) + 1) * HPAGE_PMD_NR;
        return;
      }
    }
    // A page mapped elsewhere too: its dirty bit cannot be cleared for the other mapping.
    if (m.mapcount(pfn) !== 1) return;
    m.flags[pfn] = (m.flagsOf(pfn) & ~PG_dirty) | PG_lazyfree;
    // ptep_get_and_clear + pte_mkold/pte_mkclean + set_pte_at: same page, same permission, clean.
    mm.pgtable.set(v, mk_pte(pfn, pte_write(pte) ? PTE_WRITE : 0));
    k.lazyfree.set(pfn, { mm, va: v * PAGE_SIZE });
    n++;
  });
  yield* delay(n * k.timing.zapPerPage, 'madvise:free_ptes_cleaned');
  yield* mmu_notifier_invalidate_range_end(k, range);
}

/**
 * madvise_remove() - MADV_REMOVE: punch a hole in the file behind each shared mapping of the range,
 * as fallocate(PUNCH_HOLE|KEEP_SIZE) of the matching file range; mmap_lock is dropped around the
 * punch. A shared anonymous mapping (shmem) has its pages removed the same way.
 * Context: takes and drops mmap_lock for read; may sleep. Return: 0; EINVAL (a locked VMA, no
 * file behind a private mapping); EACCES (not a shared writable mapping: VM_WRITE before 6.7,
 * VM_MAYWRITE from it); ENOMEM (part of the range unmapped); the punch's errno.
 * Kernel: mm/madvise.c madvise_remove() → vfs_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE).
 * Simplified: pinsim's shared anonymous memory has no shmem file, so its pages are zapped from
 * this mapping (they are freed unless a reference keeps them, as shmem's punch would).
 */
function* madvise_remove(k: Kernel, mm: MmStruct, start: number, end: number): Co<0 | Errno> {
  yield* down_read(mm.mmap_lock, 'madvise:mmap_read_lock');
  const holes: { vma: VmAreaStruct; file: Inode | null; s: number; e: number }[] = [];
  let err: 0 | Errno = 0;
  let covered = start;
  for (const vma of vmas_in(mm, start, end)) {
    if (vma.vm_start > covered) err = ENOMEM;
    if (vma.vm_flags & VM_LOCKED) { err = EINVAL; break; }
    const shared = (vma.vm_flags & VM_SHARED) !== 0;
    // Private MAP_HUGETLB memory has a file in the kernel (an unlinked hugetlbfs one), not in pinsim.
    if (!vma.vm_file && !shared && !vma.vm_huge_order) { err = EINVAL; break; }
    const writable = k.features.madv_remove_maywrite ? VM_MAYWRITE : VM_WRITE;
    if (!shared || !(vma.vm_flags & writable)) { err = EACCES; break; }
    holes.push({ vma, file: vma.vm_file, s: Math.max(start, vma.vm_start), e: Math.min(end, vma.vm_end) });
    covered = vma.vm_end;
  }
  if (covered < end && !err) err = ENOMEM;
  for (const h of holes) {
    let ret: 0 | Errno;
    if (h.file) {
      // The filesystem's fallocate takes i_rwsem: mmap_lock is dropped first.
      up_read(mm.mmap_lock);
      ret = yield* vfs_fallocate_punch_hole(k, h.file, h.vma.linear_page_index(h.s) * PAGE_SIZE, h.e - h.s);
      yield* down_read(mm.mmap_lock, 'madvise:mmap_read_lock');
    } else {
      yield* zap_page_range_single(k, h.vma, h.s, h.e);
      ret = 0;
    }
    if (ret) { err = ret; break; }
  }
  up_read(mm.mmap_lock);
  return err;
}

/**
 * madvise_vma_flags() - the advice that changes VMA flags: MADV_DONTFORK / MADV_DOFORK set or clear
 * VM_DONTCOPY (libibverbs' ibv_fork_init() marks registered memory so); MADV_HUGEPAGE sets
 * VM_HUGEPAGE (THP under `kernel.thp` "madvise") and MADV_NOHUGEPAGE VM_NOHUGEPAGE, each clearing
 * the other (THP already mapped stay). The VMAs are split at the range's ends (a THP PMD across an
 * end first). Return: 0; ENOMEM over a hole; EINVAL for MADV_DOFORK on a VM_IO mapping.
 * Kernel: mm/madvise.c madvise_vma_behavior(); mm/khugepaged.c hugepage_madvise().
 */
function* madvise_vma_flags(k: Kernel, mm: MmStruct, start: number, end: number, advice: 'dontfork' | 'dofork' | 'hugepage' | 'nohugepage'): Co<0 | Errno> {
  yield* down_write(mm.mmap_lock, k.actorName(), 'madvise:mmap_write_lock');
  let err: 0 | Errno = hugetlb_vm_op_split(mm, start) || hugetlb_vm_op_split(mm, end);
  if (err) {
    up_write(mm.mmap_lock);
    return err;
  }
  yield* split_huge_pmd_range(k, mm, start, end);
  split_at(mm, start);
  split_at(mm, end);
  let covered = start;
  for (const vma of vmas_in(mm, start, end)) {
    if (vma.vm_start > covered) err = ENOMEM;
    if (advice === 'dofork' && vma.vm_flags & VM_IO) { err = EINVAL; break; }
    vma.vm_flags = advice === 'dontfork' ? vma.vm_flags | VM_DONTCOPY
      : advice === 'dofork' ? vma.vm_flags & ~VM_DONTCOPY
        : advice === 'hugepage' ? (vma.vm_flags | VM_HUGEPAGE) & ~VM_NOHUGEPAGE
          : (vma.vm_flags | VM_NOHUGEPAGE) & ~VM_HUGEPAGE;
    covered = vma.vm_end;
  }
  if (covered < end && !err) err = ENOMEM;
  up_write(mm.mmap_lock);
  return err;
}
