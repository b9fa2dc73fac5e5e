/**
 * mmap and munmap. munmap follows the kernel's order: VMAs detached → notifier start
 * (MMU_NOTIFY_UNMAP over the span) → zap → notifier end → free_pgtables → tlb_finish_mmu. A page
 * a device holds a DMA reference on survives the unmap; the CPU simply cannot see it any more.
 * Kernel: mm/mmap.c do_mmap(), get_unmapped_area() (top-down), mm/vma.c do_vmi_munmap(),
 * unmap_region(). Simplified: no VMA merging; shared anonymous memory is a tmpfs inode.
 */
import { delay, schedPoint, type Co } from '../engine/actor.js';
import { EINVAL, ENOMEM, type Errno } from './errno.js';
import type { Inode } from './fs/inode.js';
import type { Kernel } from './kernel.js';
import { down_write, up_write } from './locking.js';
import { FAULT_FLAG_WRITE } from './types.js';
import { handle_mm_fault, tlb_finish_mmu, tlb_gather_mmu, unmap_page_range } from './memory.js';
import { find_vma, VmAreaStruct, vmas_in, type MmStruct } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_UNMAP,
} from './mmu_notifier.js';
import {
  PAGE_ALIGN, PAGE_SIZE, VM_EXEC, VM_MAYEXEC, VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_READ, VM_SHARED, VM_WRITE,
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
}

/** get_unmapped_area() - top-down first fit below MMAP_BASE. Return: the address, or -1. */
export function get_unmapped_area(mm: MmStruct, len: number): number {
  let top = MMAP_BASE;
  for (let i = mm.vmas.length - 1; i >= 0; i--) {
    const v = mm.vmas[i] as VmAreaStruct;
    if (v.vm_start >= top) continue;
    if (top - v.vm_end >= len) return top - len;
    top = v.vm_start;
  }
  return top - len >= PAGE_SIZE * 16 ? top - len : -1;
}

export function insert_vma(k: Kernel, mm: MmStruct, vma: VmAreaStruct): void {
  const i = mm.vmas.findIndex((v) => v.vm_start > vma.vm_start);
  if (i < 0) mm.vmas.push(vma);
  else mm.vmas.splice(i, 0, vma);
  vma.vm_file?.i_mapping.i_mmap.add(vma);
  k.emit({ type: 'vma', time: k.now, actor: k.actorName(), mm: mm.owner, start: vma.vm_start, end: vma.vm_end, what: 'map', file: vma.vm_file?.name ?? '' });
}

/**
 * do_mmap() - map @a.length bytes. Context: takes mmap_lock for write; may sleep.
 * Return: the address, or EINVAL (length 0, unaligned offset or fixed address, neither or both of
 * shared/private), ENOMEM (no room).
 */
export function* do_mmap(k: Kernel, mm: MmStruct, a: MmapArgs, shmem_name: string): Co<number | Errno> {
  yield* delay(k.timing.syscall, 'mmap:enter');
  if (a.length === 0) return EINVAL;
  if (a.shared === a.private) return EINVAL;
  if (a.offset % PAGE_SIZE !== 0) return EINVAL;
  if (a.fixed && (a.addr === null || a.addr % PAGE_SIZE !== 0)) return EINVAL;
  const len = PAGE_ALIGN(a.length);
  if (len > TASK_SIZE) return ENOMEM;
  let file = a.file;
  if (!file && a.shared) file = k.create_inode(shmem_name, 'tmpfs', false, len);
  let flags = prot_to_vm_flags(a.prot) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
  if (a.shared) flags |= VM_SHARED | VM_MAYSHARE;
  yield* down_write(mm.mmap_lock, k.actorName(), 'mmap:mmap_write_lock');
  let addr: number;
  if (a.fixed) {
    addr = a.addr as number;
    if (addr + len > TASK_SIZE) { up_write(mm.mmap_lock); return EINVAL; }
    yield* unmap_locked(k, mm, addr, addr + len);
  } else {
    addr = get_unmapped_area(mm, len);
    if (addr < 0) { up_write(mm.mmap_lock); return ENOMEM; }
  }
  const vma = new VmAreaStruct(mm, addr, addr + len, a.offset / PAGE_SIZE, flags, file);
  insert_vma(k, mm, vma);
  up_write(mm.mmap_lock);
  if (a.populate) {
    // populate_vma_page_range(): write faults only for private writable mappings (to break COW).
    const wr = (flags & (VM_WRITE | VM_SHARED)) === VM_WRITE ? FAULT_FLAG_WRITE : 0;
    for (let va = addr; va < addr + len; va += PAGE_SIZE) {
      const ret = yield* handle_mm_fault(k, vma, va, wr);
      if (ret) break; // MAP_POPULATE failures are not reported
    }
  }
  return addr;
}

/** Split the VMA containing @addr so that a VMA starts at @addr. */
export function split_at(mm: MmStruct, addr: number): void {
  const v = find_vma(mm, addr);
  if (!v || v.vm_start === addr) return;
  const tail = new VmAreaStruct(mm, addr, v.vm_end, v.vm_pgoff + (addr - v.vm_start) / PAGE_SIZE, v.vm_flags, v.vm_file);
  v.vm_end = addr;
  mm.vmas.splice(mm.vmas.indexOf(v) + 1, 0, tail);
  v.vm_file?.i_mapping.i_mmap.add(tail);
}

/**
 * unmap_locked() - detach and unmap every VMA in [start, end). Context: mmap_lock held for write.
 * Kernel: mm/vma.c do_vmi_align_munmap() → unmap_region(): one MMU_NOTIFY_UNMAP range over the span.
 */
export function* unmap_locked(k: Kernel, mm: MmStruct, start: number, end: number): Co {
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
    n += yield* unmap_page_range(k, mm, v.vm_start, v.vm_end, gather, false, i > 0);
  }
  // PTEs cleared; their references wait in the mmu_gather batch.
  yield* delay(n * k.timing.zapPerPage, 'munmap:ptes_cleared');
  yield* mmu_notifier_invalidate_range_end(k, range);
  // free_pgtables(), then tlb_finish_mmu(): TLB flush and the queued references dropped.
  tlb_finish_mmu(k, gather);
}

/**
 * do_munmap() - Context: takes mmap_lock for write; may sleep.
 * Return: 0; EINVAL for an unaligned start, a zero length or a range beyond TASK_SIZE.
 * Unmapping a range with nothing mapped succeeds.
 */
export function* do_munmap(k: Kernel, mm: MmStruct, start: number, len: number): Co<0 | Errno> {
  yield* delay(k.timing.syscall, 'munmap:enter');
  if (start % PAGE_SIZE !== 0 || len === 0) return EINVAL;
  const end = start + PAGE_ALIGN(len);
  if (end > TASK_SIZE || end <= start) return EINVAL;
  yield* down_write(mm.mmap_lock, k.actorName(), 'munmap:mmap_write_lock');
  yield* unmap_locked(k, mm, start, end);
  up_write(mm.mmap_lock);
  return 0;
}
