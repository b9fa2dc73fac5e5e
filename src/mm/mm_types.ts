/**
 * struct mm_struct and struct vm_area_struct, and the encoding of PTEs in the page-table radix.
 * Kernel: include/linux/mm_types.h. Simplified: one flat page-table level (a radix of 512-entry
 * leaves; a THP's PMD is its 512 slots, remembered in `huge_pmds`), no swap entries yet.
 */
import { Radix } from './radix.js';
import { RwSemaphore } from './locking.js';
import type { Inode } from './fs/inode.js';
import type { HugetlbResvMap } from './hugetlb.js';
import type { MmuNotifierSubscriptions } from './mmu_notifier.js';
import { PAGE_SHIFT, VM_MAYWRITE, VM_SHARED, VM_WRITE } from './types.js';

export const PTE_PRESENT = 1;
export const PTE_WRITE = 2;
export const PTE_DIRTY = 4;
/** A device-private swap entry (not present to the CPU): the page lives in device memory. */
export const PTE_DEVPRIV = 8;
/** A device-exclusive entry (not present to the CPU): a device holds the page for atomics. */
export const PTE_EXCLUSIVE = 16;
/** The factor a PTE's pfn is stored with: the PTE_* bits sit below it. */
export const PTE_FLAG_SPAN = 32;

export function mk_pte(pfn: number, bits: number): number {
  return pfn * PTE_FLAG_SPAN + (bits | PTE_PRESENT);
}

/** make_device_private_entry() - a non-present entry naming the device page @pfn. */
export function mk_devpriv_pte(pfn: number, write: boolean): number {
  return pfn * PTE_FLAG_SPAN + PTE_DEVPRIV + (write ? PTE_WRITE : 0);
}

/** make_device_exclusive_entry() - a non-present entry: @pfn stays mapped for the device only. */
export function mk_exclusive_pte(pfn: number, write: boolean): number {
  return pfn * PTE_FLAG_SPAN + PTE_EXCLUSIVE + (write ? PTE_WRITE : 0);
}

/** is_device_exclusive_entry() */
export function is_device_exclusive_entry(pte: number): boolean {
  return (pte % PTE_FLAG_SPAN & PTE_EXCLUSIVE) !== 0;
}

/** is_device_private_entry() */
export function is_device_private_entry(pte: number): boolean {
  return (pte % PTE_FLAG_SPAN & PTE_DEVPRIV) !== 0;
}
export function pte_pfn(pte: number): number {
  return Math.floor(pte / PTE_FLAG_SPAN);
}
export function pte_present(pte: number): boolean {
  return (pte % PTE_FLAG_SPAN & PTE_PRESENT) !== 0;
}
export function pte_write(pte: number): boolean {
  return (pte % PTE_FLAG_SPAN & PTE_WRITE) !== 0;
}
export function pte_dirty(pte: number): boolean {
  return (pte % PTE_FLAG_SPAN & PTE_DIRTY) !== 0;
}

export class VmAreaStruct {
  vm_mm: MmStruct;
  vm_start: number;
  vm_end: number;
  /** The file page index of vm_start. */
  vm_pgoff: number;
  vm_flags: number;
  vm_file: Inode | null;
  /** hugetlb (VM_HUGETLB): the order of its huge pages (9: 2 MiB, 18: 1 GiB); 0 for other VMAs. */
  vm_huge_order = 0;
  /**
   * A private hugetlb mapping's reservations, which it owns (HPAGE_RESV_OWNER); the VMAs a split
   * makes share it; null for shared mappings (the file holds theirs) and for a fork's child.
   */
  vm_resv: HugetlbResvMap | null = null;

  constructor(mm: MmStruct, start: number, end: number, pgoff: number, flags: number, file: Inode | null) {
    this.vm_mm = mm;
    this.vm_start = start;
    this.vm_end = end;
    this.vm_pgoff = pgoff;
    this.vm_flags = flags;
    this.vm_file = file;
  }

  /** hugetlb_inherit() - (pinsim-only) @this is a part of @from: the same huge page size and reservations. */
  hugetlb_inherit(from: VmAreaStruct): this {
    this.vm_huge_order = from.vm_huge_order;
    this.vm_resv = from.vm_resv;
    return this;
  }

  /** linear_page_index() - the file page index that @addr maps. */
  linear_page_index(addr: number): number {
    return this.vm_pgoff + (addr - this.vm_start) / 2 ** PAGE_SHIFT;
  }
}

/** is_vm_hugetlb_page() - a hugetlb mapping. Kernel: include/linux/hugetlb_inline.h. */
export function is_vm_hugetlb_page(vma: VmAreaStruct): boolean {
  return vma.vm_huge_order !== 0;
}

/** vma_is_anonymous() - a private or shared mapping with no file (shared anon is shmem here). */
export function vma_is_anonymous(vma: VmAreaStruct): boolean {
  return vma.vm_file === null;
}

/** is_cow_mapping() - private and possibly writable: writes copy. */
export function is_cow_mapping(flags: number): boolean {
  return (flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
}

/**
 * vma_needs_dirty_tracking() - a shared writable mapping of a file whose filesystem does writeback
 * and dirty accounting (so writes must go through page_mkwrite). Kernel: mm/mmap.c (6.5).
 */
export function vma_needs_dirty_tracking(vma: VmAreaStruct): boolean {
  const f = vma.vm_file;
  if (!f || f.dax) return false;
  return (vma.vm_flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE) && f.has_writeback;
}

/** vma_is_fsdax() - a DAX file mapping (not device-dax). Kernel: include/linux/fs.h. */
export function vma_is_fsdax(vma: VmAreaStruct): boolean {
  return vma.vm_file !== null && vma.vm_file.dax;
}

export class MmStruct {
  readonly id: number;
  /** The owning process's name. */
  readonly owner: string;
  /** Sorted by vm_start, non-overlapping. */
  vmas: VmAreaStruct[] = [];
  /** virtual page number → encoded PTE (0 = none). */
  readonly pgtable = new Radix();
  readonly mmap_lock: RwSemaphore;
  /** Pages charged to RLIMIT_MEMLOCK by long-term pinners (ib_umem_get). */
  pinned_vm = 0;
  /** The PMDs (by 2 MiB index) that map an anonymous THP, or the huge zero page, whole. */
  readonly huge_pmds = new Set<number>();
  /** MMF_HAS_PINNED: set by the first FOLL_PIN, sticky. */
  has_pinned = false;
  notifier_subscriptions: MmuNotifierSubscriptions | null = null;
  /** exit_mmap() has run. */
  dead = false;

  constructor(id: number, owner: string) {
    this.id = id;
    this.owner = owner;
    this.mmap_lock = new RwSemaphore(`${owner}.mmap_lock`);
  }

  /**
   * reset() - the address space as new (a machine reused by the next execution)): no VMA, an empty page
   * table (its leaves kept), nothing pinned or subscribed.
   */
  reset(): void {
    this.vmas.length = 0;
    this.pgtable.reset();
    this.mmap_lock.reset();
    this.pinned_vm = 0;
    if (this.huge_pmds.size) this.huge_pmds.clear();
    this.has_pinned = false;
    this.notifier_subscriptions = null;
    this.dead = false;
  }
}

/** find_vma() - the VMA containing @addr, or null. Kernel: mm/mmap.c find_vma() (exact lookup). */
export function find_vma(mm: MmStruct, addr: number): VmAreaStruct | null {
  const v = mm.vmas;
  let lo = 0, hi = v.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = v[mid] as VmAreaStruct;
    if (addr < m.vm_start) hi = mid - 1;
    else if (addr >= m.vm_end) lo = mid + 1;
    else return m;
  }
  return null;
}

/** The VMAs overlapping [start, end), in address order. */
export function vmas_in(mm: MmStruct, start: number, end: number): VmAreaStruct[] {
  return mm.vmas.filter((v) => v.vm_start < end && v.vm_end > start);
}
