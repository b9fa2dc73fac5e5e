/**
 * mremap(): shrink (unmap the tail), grow in place, or move. A move carries the PTEs (the same
 * pages) from the old range to the new one under MMU_NOTIFY_UNMAP for the old range, then unmaps the
 * now-empty old range (another UNMAP). A device that translates by page keeps reaching the same
 * frames; one that translates by the old VA finds nothing there. A same-size
 * mremap without MREMAP_FIXED (or MREMAP_DONTUNMAP) is a no-op (mremap_to() is reached only with
 * one of them). MREMAP_DONTUNMAP (5.7) moves the pages and leaves the old range mapped and empty.
 * A hugetlb VMA moves whole huge pages: before 5.16 only a shrink (an munmap of the tail) works and
 * anything else is EINVAL; from 5.16 the addresses must be huge page aligned, the lengths round up
 * to it, and it may not grow (EINVAL); MREMAP_DONTUNMAP never moves one (VM_DONTEXPAND).
 * Kernel: mm/mremap.c do_mremap() (the source VMA looked up first from ≈5.16), mremap_to(), move_vma(),
 * move_page_tables(), move_hugetlb_page_tables() (5.16: 550a7d60bd5e).
 */
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EFAULT, EINVAL, ENOMEM, type Errno } from './errno.js';
import { hugetlb_vm_op_split, trace_huge_pte_clear, vma_huge_size } from './hugetlb_fault.js';
import type { Kernel } from './kernel.js';
import { down_write, up_write } from './locking.js';
import { trace_pte_clear, vpn } from './memory.js';
import {
  find_vma, is_device_exclusive_entry, is_device_private_entry, pte_pfn, pte_present, pte_write, PTE_FLAG_SPAN, VmAreaStruct, vmas_in, type MmStruct,
} from './mm_types.js';
import { get_unmapped_area, insert_vma, TASK_SIZE, unmap_locked } from './mmap.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_UNMAP,
} from './mmu_notifier.js';
import { PAGE_ALIGN, PAGE_SIZE, VM_PFNMAP, VM_SHARED, ZERO_PFN } from './types.js';
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, split_huge_pmd_all, split_huge_pmd_range, thp_pmds_in } from './huge_memory.js';

export interface MremapArgs {
  addr: number;
  old_len: number;
  new_len: number;
  maymove: boolean;
  fixed: boolean;
  /** MREMAP_DONTUNMAP (5.7): move the pages, leave the old range mapped and empty. */
  dontunmap?: boolean;
  new_addr: number | null;
}

/** move_page_tables() - move the PTEs of [old, old+len) to new; the pages and their counts stay. */
function* move_page_tables(k: Kernel, mm: MmStruct, old: number, new_addr: number, len: number): Co {
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_UNMAP, old, old + len);
  yield* mmu_notifier_invalidate_range_start(k, range);
  // The old PTEs are still in place here.
  yield* schedPoint('mremap:after_notifier_start');
  const moves: [number, number][] = [];
  const hvma = find_vma(mm, old);
  if (hvma?.vm_huge_order) {
    // move_hugetlb_page_tables(): whole huge entries, one trace event each.
    const nr = 2 ** hvma.vm_huge_order;
    for (let v = vpn(old); v < vpn(old + len); v += nr) {
      const pte = mm.pgtable.get(v);
      if (!pte_present(pte)) continue;
      const from = v * PAGE_SIZE, to = new_addr + (from - old);
      const head = k.mem.folio_head(pte_pfn(pte));
      mm.pgtable.setRun(v, nr, 0, 0);
      trace_huge_pte_clear(k, mm, from, head, nr, false);
      mm.pgtable.setRun(vpn(to), nr, pte, PTE_FLAG_SPAN);
      k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: to, pfn: head, write: pte_write(pte), refcount: k.mem.refcount(head), nr });
      moves.push([v, pte]);
    }
  } else {
    // move_huge_pmd(): a THP PMD moves whole (the caller split those that cannot).
    for (const from of thp_pmds_in(mm, old, old + len)) {
      const to = new_addr + (from - old);
      const pte = mm.pgtable.get(vpn(from));
      const head = pte_pfn(pte);
      const nr = HPAGE_PMD_NR;
      mm.huge_pmds.delete(from / HPAGE_PMD_SIZE);
      mm.pgtable.setRun(vpn(from), nr, 0, 0);
      mm.huge_pmds.add(to / HPAGE_PMD_SIZE);
      mm.pgtable.setRun(vpn(to), nr, pte, head === ZERO_PFN ? 0 : PTE_FLAG_SPAN);
      const size = head === ZERO_PFN ? { zero: nr } : { nr };
      if (head === ZERO_PFN) trace_pte_clear(k, mm, from, new Int32Array(nr), new Uint8Array(nr));
      else trace_huge_pte_clear(k, mm, from, head, nr, false);
      k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: to, pfn: head, write: pte_write(pte), refcount: k.mem.refcount(head), ...size });
    }
    mm.pgtable.forEachIn(vpn(old), vpn(old + len - 1), (v, pte) => moves.push([v, pte]));
  }
  for (const [v, pte] of hvma?.vm_huge_order ? [] : moves) {
    if (!pte_present(pte) && !is_device_private_entry(pte) && !is_device_exclusive_entry(pte)) continue;
    const from = v * PAGE_SIZE, to = new_addr + (from - old);
    const pfn = pte_pfn(pte);
    mm.pgtable.set(v, 0);
    trace_pte_clear(k, mm, from, Int32Array.of(pfn), new Uint8Array(1));
    mm.pgtable.set(vpn(to), pte);
    k.emit({ type: 'pte_set', time: k.now, actor: k.actorName(), mm: mm.owner, va: to, pfn, write: pte_write(pte), refcount: k.mem.refcount(k.mem.folio_head(pfn)) });
  }
  // PTEs moved; the TLB for the old range is flushed before the notifier ends.
  yield* delay(moves.length * k.timing.zapPerPage, 'mremap:ptes_moved');
  yield* mmu_notifier_invalidate_range_end(k, range);
}

/**
 * move_vma() - the VMA part of [old, old+old_len) moves to new_addr with new_len; with @dontunmap
 * (MREMAP_DONTUNMAP) the old range stays mapped, its page tables now empty: a later touch faults
 * (a new zero page for anonymous memory, the file page again for a file mapping).
 */
function* move_vma(k: Kernel, mm: MmStruct, vma: VmAreaStruct, old: number, old_len: number, new_len: number, new_addr: number, dontunmap = false): Co<number> {
  const nvma = new VmAreaStruct(mm, new_addr, new_addr + new_len, vma.vm_pgoff + (old - vma.vm_start) / PAGE_SIZE, vma.vm_flags, vma.vm_file).hugetlb_inherit(vma);
  // A THP PMD moves whole only to a 2 MiB-aligned place; any other is split first.
  if ((new_addr - old) % HPAGE_PMD_SIZE === 0) yield* split_huge_pmd_range(k, mm, old, old + old_len);
  else yield* split_huge_pmd_all(k, mm, old, old + old_len);
  insert_vma(k, mm, nvma);
  // clear_vma_resv_huge_pages(): the new VMA owns the reservations now; unmapping the old one must not release them.
  vma.vm_resv = null;
  yield* move_page_tables(k, mm, old, new_addr, old_len);
  if (!dontunmap) yield* unmap_locked(k, mm, old, old + old_len);
  return new_addr;
}

/**
 * hugetlb_mremap_check() - the lengths an mremap of a hugetlb VMA at @a.addr uses (rounded up to the
 * huge page size from 5.16), or EINVAL: before 5.16 anything but a shrink in place; from 5.16 an
 * unaligned address or a growth. Lengths pass through unchanged for other VMAs.
 */
function hugetlb_mremap_check(k: Kernel, mm: MmStruct, a: MremapArgs, old_len: number, new_len: number): [number, number] | Errno {
  const vma = find_vma(mm, a.addr);
  if (!vma?.vm_huge_order) return [old_len, new_len];
  if (!k.features.hugetlb_mremap) return a.fixed || new_len > old_len ? EINVAL : [old_len, new_len];
  const size = vma_huge_size(vma);
  const ol = Math.ceil(old_len / size) * size, nl = Math.ceil(new_len / size) * size;
  if (a.addr % size !== 0 || (a.fixed && (a.new_addr ?? 0) % size !== 0) || nl > ol) return EINVAL;
  return [ol, nl];
}

/**
 * mremap_dontunmap_allowed() - may MREMAP_DONTUNMAP move @vma? 5.7–5.12: private anonymous VMAs
 * only; from 5.13 any VMA but VM_PFNMAP and VM_DONTEXPAND (a hugetlb VMA).
 * Kernel: mm/mremap.c vma_to_resize() (5.7: e346b3813067; 5.13: a4609387859f).
 */
function mremap_dontunmap_allowed(k: Kernel, vma: VmAreaStruct): boolean {
  // hugetlbfs_file_mmap() sets VM_DONTEXPAND; before 5.13 a hugetlb VMA is not anonymous either.
  if (vma.vm_huge_order) return false;
  if (k.features.mremap_dontunmap_any_vma) return !(vma.vm_flags & VM_PFNMAP);
  return vma.vm_file === null && !(vma.vm_flags & VM_SHARED);
}

/**
 * do_mremap() - Context: takes mmap_lock for write; may sleep.
 * Return: the (new) address; EINVAL (unaligned address, new length 0, MREMAP_FIXED without
 * MREMAP_MAYMOVE, unaligned or overlapping new address), EFAULT (no VMA at the address, or the old
 * range runs past it), ENOMEM (cannot grow in place and may not move, or no room).
 */
export function* do_mremap(k: Kernel, mm: MmStruct, a: MremapArgs): Co<number | Errno> {
  yield* delay(k.timing.syscall, 'mremap:enter');
  const dontunmap = a.dontunmap === true;
  // Before 5.7 MREMAP_DONTUNMAP is an unknown flag; it is always a move, never a resize.
  if (dontunmap && !k.features.mremap_dontunmap) return EINVAL;
  if (a.fixed && !a.maymove) return EINVAL;
  if (dontunmap && (!a.maymove || a.old_len !== a.new_len)) return EINVAL;
  if (a.addr % PAGE_SIZE !== 0) return EINVAL;
  let old_len = PAGE_ALIGN(a.old_len), new_len = PAGE_ALIGN(a.new_len);
  if (new_len === 0) return EINVAL;
  yield* down_write(mm.mmap_lock, k.actorName(), 'mremap:mmap_write_lock');
  try {
    // Newer kernels look the source VMA up before anything else (vma_lookup → EFAULT).
    if (k.features.mremap_vma_lookup_first && !find_vma(mm, a.addr)) return EFAULT;
    const h = hugetlb_mremap_check(k, mm, a, old_len, new_len);
    if (typeof h === 'string') return h;
    [old_len, new_len] = h;
    // A shrink unmaps the tail: it may not split a hugetlb VMA inside a huge page.
    if (old_len > new_len && hugetlb_vm_op_split(mm, a.addr + new_len)) return EINVAL;
    if (dontunmap) return yield* mremap_dontunmap(k, mm, a, old_len);
    if (a.fixed) {
      const na = a.new_addr ?? -1;
      if (na < 0 || na % PAGE_SIZE !== 0) return EINVAL;
      if (new_len > TASK_SIZE || na > TASK_SIZE - new_len) return EINVAL;
      if (na < a.addr + old_len && a.addr < na + new_len) return EINVAL;
      // The target is unmapped first: that munmap may not split a hugetlb VMA inside a huge page.
      if (hugetlb_vm_op_split(mm, na) || hugetlb_vm_op_split(mm, na + new_len)) return EINVAL;
      yield* unmap_locked(k, mm, na, na + new_len);
      let olen = old_len;
      if (olen > new_len) {
        yield* unmap_locked(k, mm, a.addr + new_len, a.addr + olen);
        olen = new_len;
      }
      const vma = find_vma(mm, a.addr);
      if (!vma || a.addr + olen > vma.vm_end) return EFAULT;
      return yield* move_vma(k, mm, vma, a.addr, olen, new_len, na);
    }
    // Always allow a shrinking (or same-size) remap: it just unmaps the tail.
    if (old_len >= new_len) {
      if (old_len > new_len) yield* unmap_locked(k, mm, a.addr + new_len, a.addr + old_len);
      return a.addr;
    }
    const vma = find_vma(mm, a.addr);
    if (!vma || a.addr + old_len > vma.vm_end) return EFAULT;
    // Grow in place when the VMA ends where the old range ends and the space after it is free.
    if (vma.vm_end === a.addr + old_len && a.addr + new_len <= TASK_SIZE && vmas_in(mm, vma.vm_end, a.addr + new_len).length === 0) {
      vma.vm_end = a.addr + new_len;
      k.emit({ type: 'vma', time: k.now, actor: k.actorName(), mm: mm.owner, start: vma.vm_start, end: vma.vm_end, what: 'grow', file: vma.vm_file?.name ?? '' });
      return a.addr;
    }
    if (!a.maymove) return ENOMEM;
    const na = get_unmapped_area(mm, new_len);
    if (na < 0) return ENOMEM;
    return yield* move_vma(k, mm, vma, a.addr, old_len, new_len, na);
  } finally {
    up_write(mm.mmap_lock);
  }
}

/**
 * mremap_dontunmap() - mremap_to() for MREMAP_DONTUNMAP (same length, maymove checked): to @a.new_addr
 * with MREMAP_FIXED (whatever is there unmapped first), else to a free area; the old range keeps its
 * VMA. Context: mmap_lock held for write; may sleep.
 * Return: the new address; EINVAL (a bad or overlapping new address, a VMA the era does not let
 * DONTUNMAP move), EFAULT (no VMA at the address, or the range runs past it), ENOMEM (no room).
 * Kernel: mm/mremap.c mremap_to(), vma_to_resize(), move_vma().
 */
function* mremap_dontunmap(k: Kernel, mm: MmStruct, a: MremapArgs, len: number): Co<number | Errno> {
  const hint = a.new_addr ?? 0;
  if (hint % PAGE_SIZE !== 0 || len > TASK_SIZE || hint > TASK_SIZE - len) return EINVAL;
  if (hint < a.addr + len && a.addr < hint + len) return EINVAL;
  if (a.fixed) {
    // The target is unmapped first: that munmap may not split a hugetlb VMA inside a huge page.
    if (hugetlb_vm_op_split(mm, hint) || hugetlb_vm_op_split(mm, hint + len)) return EINVAL;
    yield* unmap_locked(k, mm, hint, hint + len);
  }
  const vma = find_vma(mm, a.addr);
  if (!vma || a.addr + len > vma.vm_end) return EFAULT;
  if (!mremap_dontunmap_allowed(k, vma)) return EINVAL;
  const na = a.fixed ? hint : get_unmapped_area(mm, len);
  if (na < 0) return ENOMEM;
  return yield* move_vma(k, mm, vma, a.addr, len, len, na, true);
}
