/**
 * /proc/PID/pagemap, as pinsim's `pagemap` op reports it: how the page at an address is mapped now
 * (by a PTE, or as part of a huge page's PMD or PUD entry) and the order of its folio, so a test
 * can tell whether a huge page is (still) mapped whole. No present entry — nothing mapped, a
 * device-private or device-exclusive entry, which the CPU cannot use — is "none".
 * Kernel: fs/proc/task_mmu.c pagemap_pmd_range(), pagemap_hugetlb_range() (PM_PRESENT, the
 * huge page's pages); pinsim reports the mapping level and folio order, which pagemap's flags and
 * /proc/kpageflags (KPF_HUGE, KPF_THP) give together.
 */
import type { Kernel } from './kernel.js';
import { vpn } from './memory.js';
import { find_vma, pte_pfn, pte_present, type MmStruct } from './mm_types.js';
import { HPAGE_PMD_ORDER, HPAGE_PUD_ORDER } from './hugetlb.js';
import { pmd_trans_huge } from './huge_memory.js';

export type PagemapLevel = 'pmd' | 'pud' | 'pte' | 'none';

export interface PagemapEntry {
  level: PagemapLevel;
  /** the order of the folio mapped there (absent for "none") */
  order?: number;
}

/**
 * pagemap_read() - the mapping of the page at @addr in @mm now. Context: any (reads the page
 * table of one address). Return: its level and folio order.
 */
export function pagemap_read(k: Kernel, mm: MmStruct, addr: number): PagemapEntry {
  const pte = mm.pgtable.get(vpn(addr));
  if (!pte_present(pte)) return { level: 'none' };
  const order = k.mem.folio_order(pte_pfn(pte));
  const vma = find_vma(mm, addr);
  if (vma?.vm_huge_order) return { level: vma.vm_huge_order >= HPAGE_PUD_ORDER ? 'pud' : 'pmd', order };
  // A THP's PMD (the huge zero page's too: its folio is of order 9, though pinsim names the zero page).
  if (pmd_trans_huge(mm, addr)) return { level: 'pmd', order: HPAGE_PMD_ORDER };
  return { level: 'pte', order };
}
