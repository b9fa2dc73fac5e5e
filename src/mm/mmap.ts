/**
 * mmap and munmap. munmap follows the kernel's order: VMAs detached → notifier start
 * (MMU_NOTIFY_UNMAP over the span) → zap → notifier end → free_pgtables → tlb_finish_mmu. A page
 * a device holds a DMA reference on survives the unmap; the CPU simply cannot see it any more.
 * hugetlb mappings (MAP_HUGETLB, or a hugetlbfs file): the length is rounded up to the huge page
 * size, the address and file offset must be aligned to it (placed aligned without MAP_FIXED), the
 * pages are reserved from the pool at mmap (ENOMEM when it cannot cover them), and no munmap may
 * split one inside a huge page (EINVAL).
 * Kernel: mm/mmap.c ksys_mmap_pgoff(), do_mmap(), get_unmapped_area() (top-down), mm/vma.c
 * do_vmi_munmap(), unmap_region(); fs/hugetlbfs/inode.c hugetlbfs_file_mmap(),
 * hugetlb_get_unmapped_area(); mm/hugetlb.c hugetlb_reserve_pages(), hugetlb_vm_op_split().
 * Simplified: no VMA merging; shared anonymous memory is a tmpfs inode (a hugetlbfs one with
 * MAP_HUGETLB); a private MAP_HUGETLB mapping has no file.
 */
import { split_huge_pmd_range } from './huge_memory.js';
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EINVAL, ENOMEM, IS_ERR, type Errno } from './errno.js';
import type { Inode } from './fs/inode.js';
import { huge_page_order_of, hugetlb_reserve_pages, hugetlb_vm_op_close, HugetlbResvMap, size_to_hstate } from './hugetlb.js';
import { __unmap_hugepage_range, hugetlb_vm_op_split, vma_hugecache_offset, vma_huge_size } from './hugetlb_fault.js';
import type { Kernel } from './kernel.js';
import { down_write, up_write } from './locking.js';
import { FAULT_FLAG_WRITE } from './types.js';
import { handle_mm_fault, tlb_finish_mmu, tlb_gather_mmu, unmap_page_range } from './memory.js';
import { find_vma, VmAreaStruct, vmas_in, type MmStruct } from './mm_types.js';
import { PINSIM_BUG } from './mmdebug.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_UNMAP,
} from './mmu_notifier.js';
import {
  PAGE_ALIGN, PAGE_SIZE, VM_EXEC, VM_HUGETLB, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_READ, VM_SHARED, VM_WRITE,
} from './types.js';

/** Where top-down placement starts (the scenario format's rule). */
export const MMAP_BASE = 0x7f0000000000;
/** The end of the user address space (x86-64, 4-level). */
export const TASK_SIZE = 0x7ffffffff000;

export type ProtName = 'none' | 'r' | 'rw' | 'rx' | 'rwx';

/** The VM_READ/VM_WRITE/VM_EXEC bits of a prot word. */
export function prot_to_vm_flags(prot: ProtName): number {
  return (prot.includes('r') ? VM_READ : 0) | (prot.includes('w') ? VM_WRITE : 0) | (prot.includes('x') ? VM_EXEC : 0);
}

export interface MmapArgs {
  addr: number | null;
  length: number;
  prot: ProtName;
  shared: boolean;
  private: boolean;
  fixed: boolean;
  populate: boolean;
  file: Inode | null;
  /** file offset in bytes */
  offset: number;
  /** MAP_HUGETLB: anonymous memory from the hugetlb pool */
  hugetlb?: boolean;
  /** with MAP_HUGETLB, the huge page size in bytes (MAP_HUGE_2MB / MAP_HUGE_1GB); default 2 MiB */
  huge_size?: number;
}

/**
 * get_unmapped_area() - top-down first fit below MMAP_BASE, at a multiple of @align (a hugetlb
 * mapping's huge page size; else a page). Return: the address, or -1.
 */
export function get_unmapped_area(mm: MmStruct, len: number, align = PAGE_SIZE): number {
  let top = MMAP_BASE;
  const at = (t: number): number => Math.floor((t - len) / align) * align;
  for (let i = mm.vmas.length - 1; i >= 0; i--) {
    const v = mm.vmas[i] as VmAreaStruct;
    if (v.vm_start >= top) continue;
    if (at(top) >= v.vm_end) return at(top);
    top = v.vm_start;
  }
  return at(top) >= PAGE_SIZE * 16 ? at(top) : -1;
}

export function insert_vma(k: Kernel, mm: MmStruct, vma: VmAreaStruct): void {
  const i = mm.vmas.findIndex((v) => v.vm_start > vma.vm_start);
  if (i < 0) mm.vmas.push(vma);
  else mm.vmas.splice(i, 0, vma);
  vma.vm_file?.i_mapping.i_mmap.add(vma);
  k.emit({ type: 'vma', time: k.now, actor: k.actorName(), mm: mm.owner, start: vma.vm_start, end: vma.vm_end, what: 'map', file: vma.vm_file?.name ?? '' });
}

/** The hugetlb side of an mmap: the huge page order (0: not hugetlb) and the file it maps, or an errno. */
function mmap_hugetlb_file(k: Kernel, a: MmapArgs, shmem_name: string, len: number): { order: number; file: Inode | null } | Errno {
  if (a.file) {
    if (a.hugetlb && !a.file.huge_order) return EINVAL; // MAP_HUGETLB of a file other than hugetlbfs
    return { order: a.file.huge_order, file: a.file };
  }
  if (!a.hugetlb) return { order: 0, file: a.shared ? k.create_inode(shmem_name, 'tmpfs', false, len) : null };
  const order = huge_page_order_of(a.huge_size ?? 2 * 1024 * 1024);
  if (order < 0 || !size_to_hstate(k, order)) return EINVAL; // hstate_sizelog(): no such size
  const size = 2 ** order * PAGE_SIZE;
  // hugetlb_file_setup(): shared anonymous hugetlb memory is an unlinked hugetlbfs file.
  const file = a.shared ? k.create_inode(shmem_name, 'hugetlbfs', false, Math.ceil(len / size) * size, order) : null;
  return { order, file };
}

/**
 * do_mmap() - map @a.length bytes. Context: takes mmap_lock for write; may sleep.
 * Return: the address, or EINVAL (length 0, unaligned offset or fixed address — to the huge page
 * size for hugetlb —, neither or both of shared/private, MAP_HUGETLB of a non-hugetlbfs file or of
 * a size with no hstate, a fixed mapping that would split a hugetlb VMA), ENOMEM (no room; the
 * hugetlb pool cannot reserve the pages).
 */
export function* do_mmap(k: Kernel, mm: MmStruct, a: MmapArgs, shmem_name: string): Co<number | Errno> {
  yield* delay(k.timing.syscall, 'mmap:enter');
  if (a.length === 0) return EINVAL;
  if (a.shared === a.private) return EINVAL;
  if (a.offset % PAGE_SIZE !== 0) return EINVAL;
  if (a.fixed && (a.addr === null || a.addr % PAGE_SIZE !== 0)) return EINVAL;
  if (a.length > TASK_SIZE) return ENOMEM;
  const hf = mmap_hugetlb_file(k, a, shmem_name, PAGE_ALIGN(a.length));
  if (IS_ERR(hf)) return hf;
  const { order, file } = hf;
  const align = 2 ** order * PAGE_SIZE;
  const len = Math.ceil(a.length / align) * align;
  if (len > TASK_SIZE) return ENOMEM;
  if (order && ((a.fixed && (a.addr as number) % align !== 0) || a.offset % align !== 0)) return EINVAL;
  let flags = prot_to_vm_flags(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | (order ? VM_HUGETLB : 0);
  if (a.shared) flags |= VM_SHARED | VM_MAYSHARE;
  yield* down_write(mm.mmap_lock, k.actorName(), 'mmap:mmap_write_lock');
  let addr: number;
  if (a.fixed) {
    addr = a.addr as number;
    if (addr + len > TASK_SIZE) { up_write(mm.mmap_lock); return EINVAL; }
    const err = hugetlb_vm_op_split(mm, addr) || hugetlb_vm_op_split(mm, addr + len);
    if (err) { up_write(mm.mmap_lock); return err; }
    yield* unmap_locked(k, mm, addr, addr + len);
  } else {
    addr = get_unmapped_area(mm, len, align);
    if (addr < 0) { up_write(mm.mmap_lock); return ENOMEM; }
  }
  const vma = new VmAreaStruct(mm, addr, addr + len, a.offset / PAGE_SIZE, flags, file);
  if (order) {
    const err = hugetlbfs_mmap(k, vma, order, a.shared);
    if (err) { up_write(mm.mmap_lock); return err; }
  }
  insert_vma(k, mm, vma);
  up_write(mm.mmap_lock);
  if (a.populate) {
    // populate_vma_page_range(): write faults only for private writable mappings (to break COW).
    const wr = (flags & (VM_WRITE | VM_SHARED)) === VM_WRITE ? FAULT_FLAG_WRITE : 0;
    for (let va = addr; va < addr + len; va += align) {
      const ret = yield* handle_mm_fault(k, vma, va, wr);
      if (ret) break; // MAP_POPULATE failures are not reported
    }
  }
  return addr;
}

/**
 * hugetlbfs_mmap() - make @vma a hugetlb mapping of @order and reserve its pages: a private one
 * owns a reservation per huge page, a shared one reserves the file's pages not reserved yet. A
 * writable mapping beyond the file's size extends it. Return: 0, or ENOMEM (the pool cannot cover it).
 * Kernel: fs/hugetlbfs/inode.c hugetlbfs_file_mmap() → mm/hugetlb.c hugetlb_reserve_pages().
 */
function hugetlbfs_mmap(k: Kernel, vma: VmAreaStruct, order: number, shared: boolean): 0 | Errno {
  const h = size_to_hstate(k, order);
  if (!h) return EINVAL;
  vma.vm_huge_order = order;
  const from = vma_hugecache_offset(vma, vma.vm_start), to = from + (vma.vm_end - vma.vm_start) / h.size;
  const err = hugetlb_reserve_pages(h, from, to, shared && vma.vm_file ? vma.vm_file.resv_regions : null);
  if (err) return err;
  if (!shared) vma.vm_resv = new HugetlbResvMap();
  const f = vma.vm_file;
  if (f && vma.vm_flags & VM_WRITE && f.i_size < to * h.size) {
    k.emit({ type: 'i_size', time: k.now, actor: k.actorName(), file: f.name, old: f.i_size, size: to * h.size });
    f.i_size = to * h.size;
  }
  return 0;
}

/**
 * Split the VMA containing @addr so that a VMA starts at @addr (a hugetlb VMA only at a huge page
 * boundary: the caller checked hugetlb_vm_op_split()).
 */
export function split_at(mm: MmStruct, addr: number): void {
  const v = find_vma(mm, addr);
  if (!v || v.vm_start === addr) return;
  // Every caller asks hugetlb_vm_op_split() first and fails with EINVAL: a split here is pinsim's bug.
  if (v.vm_huge_order && addr % vma_huge_size(v) !== 0) PINSIM_BUG(`split of ${mm.owner}'s hugetlb VMA at 0x${addr.toString(16)}, inside a huge page`);
  const tail = new VmAreaStruct(mm, addr, v.vm_end, v.vm_pgoff + (addr - v.vm_start) / PAGE_SIZE, v.vm_flags, v.vm_file).hugetlb_inherit(v);
  v.vm_end = addr;
  mm.vmas.splice(mm.vmas.indexOf(v) + 1, 0, tail);
  v.vm_file?.i_mapping.i_mmap.add(tail);
}

/**
 * unmap_locked() - detach and unmap every VMA in [start, end). Context: mmap_lock held for write.
 * Kernel: mm/vma.c do_vmi_align_munmap() → unmap_region(): one MMU_NOTIFY_UNMAP range over the span.
 */
export function* unmap_locked(k: Kernel, mm: MmStruct, start: number, end: number): Co {
  // vma_adjust_trans_huge(): a THP PMD across a split point is split before the VMA is.
  yield* split_huge_pmd_range(k, mm, start, end);
  split_at(mm, start);
  split_at(mm, end);
  const victims = vmas_in(mm, start, end);
  if (!victims.length) return;
  mm.vmas = mm.vmas.filter((v) => !victims.includes(v));
  for (const v of victims) {
    v.vm_file?.i_mapping.i_mmap.delete(v);
    k.emit({ type: 'vma', time: k.now, actor: k.actorName(), mm: mm.owner, start: v.vm_start, end: v.vm_end, what: 'unmap', file: v.vm_file?.name ?? '' });
  }
  // VMAs detached: a new fault in the range finds no VMA, but the PTEs are still there.
  yield* schedPoint('munmap:detached');
  const span_start = (victims[0] as VmAreaStruct).vm_start, span_end = (victims[victims.length - 1] as VmAreaStruct).vm_end;
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_UNMAP, span_start, span_end);
  yield* mmu_notifier_invalidate_range_start(k, range);
  // Every page is still mapped here.
  yield* schedPoint('munmap:after_notifier_start');
  const gather = tlb_gather_mmu();
  let n = 0;
  for (let i = 0; i < victims.length; i++) {
    const v = victims[i] as VmAreaStruct;
    // A hugetlb VMA's entries are cleared one huge entry at a time, with no preemption point between.
    n += v.vm_huge_order ? __unmap_hugepage_range(k, v, v.vm_start, v.vm_end, gather) : yield* unmap_page_range(k, mm, v.vm_start, v.vm_end, gather, false, i > 0);
  }
  // PTEs cleared; their references wait in the mmu_gather batch.
  yield* delay(n * k.timing.zapPerPage, 'munmap:ptes_cleared');
  yield* mmu_notifier_invalidate_range_end(k, range);
  // free_pgtables(), then tlb_finish_mmu(): TLB flush and the queued references dropped.
  tlb_finish_mmu(k, gather);
  // remove_vma() → vm_ops->close: a private hugetlb VMA gives back what it reserved and did not use.
  for (const v of victims) hugetlb_vma_close(k, v);
}

/** hugetlb_vma_close() - @vma goes away: its unconsumed reservations go back (hugetlb_vm_op_close()). */
export function hugetlb_vma_close(k: Kernel, vma: VmAreaStruct): void {
  if (!vma.vm_resv) return;
  const h = size_to_hstate(k, vma.vm_huge_order);
  const from = vma_hugecache_offset(vma, vma.vm_start);
  if (h) hugetlb_vm_op_close(h, vma.vm_resv, from, from + (vma.vm_end - vma.vm_start) / vma_huge_size(vma));
}

/**
 * do_munmap() - Context: takes mmap_lock for write; may sleep.
 * Return: 0; EINVAL for an unaligned start, a zero length, a range beyond TASK_SIZE, or one that
 * would split a hugetlb VMA inside a huge page. Unmapping a range with nothing mapped succeeds.
 */
export function* do_munmap(k: Kernel, mm: MmStruct, start: number, len: number): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'munmap:enter');
  if (start % PAGE_SIZE !== 0 || len === 0) return EINVAL;
  const end = start + PAGE_ALIGN(len);
  if (end > TASK_SIZE || end <= start) return EINVAL;
  yield* down_write(mm.mmap_lock, k.actorName(), 'munmap:mmap_write_lock');
  // __split_vma() asks vm_ops->may_split first: nothing is unmapped when a hugetlb VMA refuses.
  const err = hugetlb_vm_op_split(mm, start) || hugetlb_vm_op_split(mm, end);
  if (!err) yield* unmap_locked(k, mm, start, end);
  up_write(mm.mmap_lock);
  return err;
}
