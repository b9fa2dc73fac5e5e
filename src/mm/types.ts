/**
 * Kernel constants and small types, with the kernel's names: PAGE_SIZE, FOLL_*, VM_*,
 * FAULT_FLAG_*, VM_FAULT_*. Frame numbers, page offsets and addresses are plain numbers.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PAGE_MASK = ~(PAGE_SIZE - 1);

/** The pfn of the shared zero page: reserved, never allocated or freed (pinsim-only choice). */
export const ZERO_PFN = 0;

/** GUP flags (include/linux/mm_types.h, mm/internal.h). Bits are pinsim's own. */
export const FOLL_WRITE = 0x01;
export const FOLL_GET = 0x04;
export const FOLL_FORCE = 0x10;
export const FOLL_LONGTERM = 0x100;
/** Internal (mm/internal.h, before 6.0): a COW fault already happened for this FOLL_FORCE write. */
export const FOLL_COW = 0x4000;
export const FOLL_PIN = 0x40000;

/** include/linux/mm.h: GUP_PIN_COUNTING_BIAS (5.7+). */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** VMA flags (include/linux/mm.h). */
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_IO = 0x4000;
export const VM_DONTCOPY = 0x20000;
export const VM_PFNMAP = 0x400;
export const VM_LOCKED = 0x2000;
/** A hugetlb mapping (MAP_HUGETLB, or a hugetlbfs file): its pages are huge pages of its hstate. */
export const VM_HUGETLB = 0x400000;
/** MADV_HUGEPAGE: THP may back this VMA under `kernel.thp` "madvise". */
export const VM_HUGEPAGE = 0x20000000;
/** MADV_NOHUGEPAGE: no THP here, whatever `kernel.thp` says. */
export const VM_NOHUGEPAGE = 0x40000000;

/** Fault flags (include/linux/mm_types.h). */
export const FAULT_FLAG_WRITE = 0x1;
/** 5.19+: break COW of a possibly shared page without writing it: the new PTE stays read-only. */
export const FAULT_FLAG_UNSHARE = 0x400;

/** Fault results (include/linux/mm_types.h vm_fault_reason). */
export const VM_FAULT_OOM = 0x1;
export const VM_FAULT_SIGBUS = 0x2;
export const VM_FAULT_SIGSEGV = 0x40;
export type VmFault = 0 | typeof VM_FAULT_OOM | typeof VM_FAULT_SIGBUS | typeof VM_FAULT_SIGSEGV;
/**
 * "do_wp_page() broke COW" (reused or copied for a write): what faultin_page() tests to set FOLL_COW
 * before 6.0. Only __handle_mm_fault() returns it; handle_mm_fault() masks it off.
 */
export const VM_FAULT_WRITE = 0x8;

/**
 * Page flags (include/linux/page-flags.h); bits are pinsim's own, all below bit 10: the frame
 * table keeps a folio's order in the bits above them (mem_map.ts FOLIO_ORDER_SHIFT).
 */
export const PG_uptodate = 0x1;
export const PG_dirty = 0x2;
export const PG_writeback = 0x4;
/** PG_private: the folio has buffer heads attached. */
export const PG_private = 0x8;
export const PG_dax = 0x10;
export const PG_dummy = 0x20;
export const PG_zero = 0x40;
/** A device-private page (ZONE_DEVICE memory a driver owns; the CPU cannot map it). */
export const PG_devpriv = 0x80;
/** PG_anon_exclusive (PageAnonExclusive, 5.19): an anonymous page mapped by this process only. */
export const PG_anon_exclusive = 0x100;
/** A lazily freeable anonymous page (MADV_FREE: the kernel clears PG_swapbacked; pinsim sets this). */
export const PG_lazyfree = 0x200;

export function PAGE_ALIGNED(x: number): boolean {
  return x % PAGE_SIZE === 0;
}

export function PAGE_ALIGN(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}

export function pages_in(length: number): number {
  return Math.ceil(length / PAGE_SIZE);
}

/** Names of the FOLL_* bits set in @f, for traces: "FOLL_PIN|FOLL_LONGTERM". */
export function foll_names(f: number): string {
  const n: string[] = [];
  if (f & FOLL_GET) n.push('FOLL_GET');
  if (f & FOLL_PIN) n.push('FOLL_PIN');
  if (f & FOLL_LONGTERM) n.push('FOLL_LONGTERM');
  if (f & FOLL_WRITE) n.push('FOLL_WRITE');
  if (f & FOLL_FORCE) n.push('FOLL_FORCE');
  if (f & FOLL_COW) n.push('FOLL_COW');
  return n.join('|');
}
