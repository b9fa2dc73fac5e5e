/**
 * hmm_range_fault(): walk the CPU page tables of a range for a device, faulting pages in when
 * asked, and report each page's pfn and permission. It takes no page reference: the caller's
 * mmu_interval_notifier and read_retry protocol keep the result valid (docs/kernel-model.md: HMM).
 * Kernel: mm/hmm.c hmm_range_fault(), hmm_vma_walk_pmd(), hmm_vma_walk_hugetlb_entry() (the mapping
 * order, 5.9), hmm_pte_need_fault(); include/linux/hmm.h.
 * Simplified: one pass per call; any fault ends the call with -EBUSY-style restart handled by the
 * walk itself re-reading the PTE; device-private entries arrive with the GPU's migration.
 */
import { pmd_trans_huge } from './huge_memory.js';
import { HPAGE_PMD_ORDER } from './hugetlb.js';
import type { Co } from '../engine/actor.js';
import { EBUSY, EFAULT, EPERM, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import { handle_mm_fault, vpn } from './memory.js';
import { find_vma, is_device_private_entry, pte_pfn, pte_present, pte_write, type MmStruct } from './mm_types.js';
import { mmu_interval_check_retry, type MmuIntervalNotifier } from './mmu_interval_notifier.js';
import { FAULT_FLAG_WRITE, PAGE_SIZE, VM_READ, VM_WRITE, ZERO_PFN } from './types.js';

/**
 * HMM_RANGE_DEFAULT_TIMEOUT - how long a driver keeps retrying a walk that invalidations keep
 * colliding with before it gives up with EBUSY: 1000 ms, in ns. Kernel: include/linux/hmm.h.
 */
export const HMM_RANGE_DEFAULT_TIMEOUT = 1_000_000_000;

/** One page of a walk's result (hmm_pfns[] entry). */
export interface HmmPfn {
  /** -1 when the page is not valid (not present and not faulted, or an error) */
  pfn: number;
  /** pinsim-only: the frame's allocation generation when the walk read it */
  gen: number;
  write: boolean;
  error: boolean;
  zero: boolean;
  /** a device-private page of the caller's own device */
  devpriv?: boolean;
  /** the order of the mapping (5.9+: hmm_pfn_to_map_order()), set for a huge (PMD/PUD) mapping */
  order?: number;
}

export interface HmmRange {
  notifier: MmuIntervalNotifier;
  notifier_seq: number;
  start: number;
  end: number;
  /** HMM_PFN_REQ_FAULT: fault pages in (else a snapshot) */
  fault: boolean;
  /** HMM_PFN_REQ_WRITE: want them writable */
  write: boolean;
  hmm_pfns: HmmPfn[];
  /** pinsim-only: the trace position when the walk began reading PTEs */
  snapSeq: number;
  /** dev_private_owner: device-private pages of this owner are reported, not faulted back */
  dev_private_owner?: string;
}

/**
 * hmm_range_fault() - fill @range.hmm_pfns. Context: mmap_lock held for read; may sleep (faults).
 * Return: 0; EBUSY when an invalidation hit the interval since notifier_seq (the caller restarts
 * from read_begin); EFAULT (no VMA, no read permission, or the fault failed: SIGBUS beyond EOF);
 * EPERM (a write fault on a VMA without VM_WRITE).
 * Kernel: mm/hmm.c hmm_range_fault(), hmm_vma_walk_pmd(), hmm_pte_need_fault().
 */
export function* hmm_range_fault(k: Kernel, mm: MmStruct, range: HmmRange, holder: string): Co<0 | Errno> {
  range.snapSeq = k.bus.count;
  range.hmm_pfns = [];
  for (let addr = range.start; addr < range.end; addr += PAGE_SIZE) {
    if (mmu_interval_check_retry(range.notifier, range.notifier_seq)) return EBUSY;
    const vma = find_vma(mm, addr);
    if (!vma || !(vma.vm_flags & VM_READ)) {
      if (range.fault) return EFAULT;
      range.hmm_pfns.push({ pfn: -1, gen: 0, write: false, error: true, zero: false });
      continue;
    }
    if (range.fault && range.write && !(vma.vm_flags & VM_WRITE)) return EPERM;
    let pte = mm.pgtable.get(vpn(addr));
    if (is_device_private_entry(pte) && k.pgmaps.owner.get(pte_pfn(pte)) === range.dev_private_owner) {
      // The caller's own device memory: reported as is (HMM_PFN_VALID, write from the entry).
      const pfn = pte_pfn(pte);
      range.hmm_pfns.push({ pfn, gen: k.mem.genOf(pfn), write: pte_write(pte), error: false, zero: false, devpriv: true });
      continue;
    }
    const need = range.fault && (!pte_present(pte) || (range.write && !pte_write(pte)) || (range.write && pte_pfn(pte) === ZERO_PFN));
    if (need) {
      const ret = yield* handle_mm_fault(k, vma, addr, range.write ? FAULT_FLAG_WRITE : 0);
      if (ret) return EFAULT;
      if (mmu_interval_check_retry(range.notifier, range.notifier_seq)) return EBUSY;
      pte = mm.pgtable.get(vpn(addr));
    }
    if (!pte_present(pte)) range.hmm_pfns.push({ pfn: -1, gen: 0, write: false, error: false, zero: false });
    else {
      const pfn = pte_pfn(pte);
      const h: HmmPfn = { pfn, gen: k.mem.genOf(pfn), write: pte_write(pte), error: false, zero: pfn === ZERO_PFN };
      // A hugetlb entry maps the whole huge page: from 5.9 the walk says so (HMM_PFN_ORDER).
      if (vma.vm_huge_order && k.features.hmm_pfn_order) h.order = vma.vm_huge_order;
      // So does a THP's PMD (hmm_vma_handle_pmd()); a split one's pages are order 0.
      else if (k.features.hmm_pfn_order && pmd_trans_huge(mm, addr)) h.order = HPAGE_PMD_ORDER;
      range.hmm_pfns.push(h);
    }
  }
  k.emit({ type: 'hmm_snapshot', time: k.now, actor: k.actorName(), holder, mm: mm.owner, start: range.start, end: range.end, seq: range.notifier_seq });
  return 0;
}
