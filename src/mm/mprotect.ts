/**
 * mprotect(): new VMA permissions, and PTEs rewritten under MMU_NOTIFY_PROTECTION_VMA (started
 * lazily, only when the range has a populated PTE). A DMA reference ignores all of it: a pinned page
 * stays writable to the device under PROT_READ or PROT_NONE.
 * Kernel: mm/mprotect.c do_mprotect_pkey(), mprotect_fixup(), change_protection().
 * A hugetlb VMA cannot be split inside a huge page (EINVAL, nothing changed) and changes its
 * entries whole (hugetlb_change_protection()).
 * Simplified: no VMA merging; adding write permission leaves PTEs read-only (the next write faults).
 */
import { split_huge_pmd_range } from './huge_memory.js';
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EINVAL, ENOMEM, type Errno } from './errno.js';
import { hugetlb_change_protection, hugetlb_vm_op_split } from './hugetlb_fault.js';
import type { Kernel } from './kernel.js';
import { down_write, up_write } from './locking.js';
import { vpn } from './memory.js';
import { mk_pte, pte_dirty, pte_pfn, pte_write, PTE_DIRTY, vmas_in, type MmStruct } from './mm_types.js';
import { prot_to_vm_flags, split_at, type ProtName } from './mmap.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_PROTECTION_VMA,
} from './mmu_notifier.js';
import { PAGE_ALIGN, PAGE_SIZE, VM_EXEC, VM_READ, VM_WRITE } from './types.js';

/**
 * do_mprotect() - Context: takes mmap_lock for write; may sleep.
 * Return: 0; EINVAL for an unaligned start or a range that would split a hugetlb VMA inside a huge
 * page; ENOMEM when part of the range is unmapped (the VMAs before the first hole are changed). A
 * zero length succeeds.
 */
export function* do_mprotect(k: Kernel, mm: MmStruct, start: number, len: number, prot: ProtName): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'mprotect:enter');
  if (start % PAGE_SIZE !== 0) return EINVAL;
  if (len === 0) return 0;
  const end = start + PAGE_ALIGN(len);
  yield* down_write(mm.mmap_lock, k.actorName(), 'mprotect:mmap_write_lock');
  // do_mprotect_pkey() changes VMA after VMA and stops with ENOMEM at the first hole.
  let covered = start;
  for (const v of vmas_in(mm, start, end)) {
    if (v.vm_start > covered) break;
    covered = v.vm_end;
  }
  const stop = Math.min(covered, end);
  if (stop <= start) {
    up_write(mm.mmap_lock);
    return ENOMEM;
  }
  const err = hugetlb_vm_op_split(mm, start) || hugetlb_vm_op_split(mm, stop);
  if (err) {
    up_write(mm.mmap_lock);
    return err;
  }
  // A THP PMD the range covers in part is split (vma_adjust_trans_huge(), change_pmd_range()).
  yield* split_huge_pmd_range(k, mm, start, stop);
  split_at(mm, start);
  split_at(mm, stop);
  const newbits = prot_to_vm_flags(prot);
  for (const vma of vmas_in(mm, start, stop)) {
    vma.vm_flags = (vma.vm_flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | newbits;
    if (vma.vm_huge_order) {
      yield* hugetlb_change_protection(k, vma, newbits);
      k.emit({ type: 'vma', time: k.now, actor: k.actorName(), mm: mm.owner, start: vma.vm_start, end: vma.vm_end, what: `mprotect:${prot}`, file: vma.vm_file?.name ?? '' });
      continue;
    }
    // change_protection(): the notifier starts at the first populated PTE, if any.
    let range = null as ReturnType<typeof mmu_notifier_range_init> | null;
    const ptes: number[] = [];
    mm.pgtable.forEachIn(vpn(vma.vm_start), vpn(vma.vm_end - 1), (v) => ptes.push(v));
    for (const v of ptes) {
      if (!range) {
        range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_PROTECTION_VMA, vma.vm_start, vma.vm_end);
        yield* mmu_notifier_invalidate_range_start(k, range);
        yield* schedPoint('mprotect:after_notifier_start');
      }
      const pte = mm.pgtable.get(v);
      if (!(newbits & VM_WRITE) && pte_write(pte)) mm.pgtable.set(v, mk_pte(pte_pfn(pte), pte_dirty(pte) ? PTE_DIRTY : 0));
    }
    if (range) {
      yield* delay(ptes.length * k.timing.zapPerPage, 'mprotect:ptes_changed');
      yield* mmu_notifier_invalidate_range_end(k, range);
    }
    k.emit({ type: 'vma', time: k.now, actor: k.actorName(), mm: mm.owner, start: vma.vm_start, end: vma.vm_end, what: `mprotect:${prot}`, file: vma.vm_file?.name ?? '' });
  }
  up_write(mm.mmap_lock);
  return stop < end ? ENOMEM : 0;
}
