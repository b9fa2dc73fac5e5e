/**
 * madvise(). MADV_DONTNEED zaps the range (MMU_NOTIFY_CLEAR): an anonymous page a device still
 * references survives unmapped, and the next CPU touch maps a new zero page, so CPU and device
 * diverge; file pages stay cached and re-fault to the same page. On a hugetlb VMA it is EINVAL
 * before 5.18; from 5.18 the start must be huge page aligned (EINVAL) and whole huge pages are
 * zapped, the end rounded up to one (5.18–6.0) or down (6.1+: a partial huge page is kept, and a
 * range that rounds to nothing does nothing).
 * Kernel: mm/madvise.c do_madvise(), madvise_dontneed_single_vma(), madvise_dontneed_free_valid_vma()
 * (5.18: 90e7e7f5ef3f; 6.1: 8ebe0a5eaaeb).
 */
import { delay, type Co } from '../engine/actor.js';
import { EINVAL, ENOMEM, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import { down_read, down_write, up_read, up_write } from './locking.js';
import { zap_page_range_single } from './memory.js';
import { vmas_in, type MmStruct } from './mm_types.js';
import { split_at } from './mmap.js';
import { hugetlb_vm_op_split, vma_huge_size } from './hugetlb_fault.js';
import { PAGE_ALIGN, PAGE_SIZE, VM_DONTCOPY, VM_HUGEPAGE, VM_IO, VM_LOCKED, VM_NOHUGEPAGE, VM_PFNMAP } from './types.js';
import { split_huge_pmd_range } from './huge_memory.js';
import { madvise_collapse } from './khugepaged.js';

/** The advice words of the scenario format; do_madvise() models dontneed, dontfork and dofork. */
export type MadviseAdvice = 'dontneed' | 'free' | 'remove' | 'dontfork' | 'dofork' | 'hugepage' | 'nohugepage' | 'collapse';

/**
 * do_madvise() - Context: takes mmap_lock for read; may sleep.
 * Return: 0; EINVAL for an unaligned start, a locked/PFNMAP VMA, or MADV_DONTNEED on a hugetlb VMA
 * the era refuses; ENOMEM when part of the range is unmapped (the mapped parts are still advised).
 * A zero length succeeds.
 */
export function* do_madvise(k: Kernel, mm: MmStruct, start: number, len: number, advice: MadviseAdvice): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'madvise:enter');
  if (start % PAGE_SIZE !== 0) return EINVAL;
  if (len === 0) return 0;
  const end = start + PAGE_ALIGN(len);
  if (advice === 'dontfork' || advice === 'dofork') return yield* madvise_vma_flags(k, mm, start, end, advice);
  if (advice === 'hugepage' || advice === 'nohugepage') return yield* madvise_vma_flags(k, mm, start, end, advice);
  if (advice === 'collapse') return yield* madvise_collapse(k, mm, start, end);
  if (advice !== 'dontneed') return EINVAL;
  yield* down_read(mm.mmap_lock, 'madvise:mmap_read_lock');
  let err: 0 | Errno = 0;
  let covered = start;
  for (const vma of vmas_in(mm, start, end)) {
    if (vma.vm_start > covered) err = ENOMEM;
    if (vma.vm_flags & (VM_LOCKED | VM_PFNMAP)) { err = EINVAL; break; }
    const s = Math.max(start, vma.vm_start);
    let e = Math.min(end, vma.vm_end);
    if (vma.vm_huge_order) {
      const size = vma_huge_size(vma);
      if (!k.features.madv_dontneed_hugetlb || s % size !== 0) { err = EINVAL; break; }
      e = (k.features.madv_dontneed_hugetlb_round_down ? Math.floor(e / size) : Math.ceil(e / size)) * size;
    }
    if (e > s) yield* zap_page_range_single(k, vma, s, e);
    covered = vma.vm_end;
  }
  if (covered < end && !err) err = ENOMEM;
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
