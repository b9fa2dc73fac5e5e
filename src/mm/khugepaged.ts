/**
 * Collapsing 4 KiB pages into a THP: khugepaged (`kernel.khugepaged`, a background thread) and
 * MADV_COLLAPSE (6.1+). Both scan the 512 entries of a 2 MiB-aligned range of a private anonymous
 * VMA and refuse it when a page has references its mappings do not explain — a DMA pin, a FOLL_GET
 * reference (SCAN_PAGE_COUNT) — in every era; ≤ 5.7 also when a page is shared with another process
 * (mapped more than once), which 5.8 allowed up to max_ptes_shared; and they need at least one
 * writable PTE in the range (SCAN_PAGE_RO), so a range fork write-protected whole is not collapsed.
 * A collapse allocates a THP (no aligned free block: SCAN_ALLOC_HUGE_PAGE_FAIL), clears the range
 * under an MMU_NOTIFY_CLEAR over the 2 MiB, checks the references again (a pin taken meanwhile
 * wins), copies the pages (an empty entry reads as zeros) and maps the THP by its PMD.
 * khugepaged follows `kernel.thp` (always, or madvise with MADV_HUGEPAGE) and needs a page present;
 * MADV_COLLAPSE ignores the mode and empty entries but not MADV_NOHUGEPAGE. MADV_COLLAPSE's errnos:
 * EINVAL before 6.1 (no such advice); a refused page count EINVAL in 6.1–6.2, EAGAIN from 6.3; no
 * THP to be had ENOMEM; anything else (no writable PTE, an unsuitable VMA) EINVAL; a range already
 * PMD-mapped succeeds.
 * Kernel: mm/khugepaged.c khugepaged_scan_mm_slot(), hpage_collapse_scan_pmd() (4.20:
 * khugepaged_scan_pmd()), __collapse_huge_page_isolate(), is_refcount_suitable(),
 * collapse_huge_page(), madvise_collapse(), madvise_collapse_errno() (6.1: 7d8faaf15545).
 * Simplified: no accessed bit (every page counts as referenced), no swap entries, no file/shmem
 * collapse (MADV_COLLAPSE of a file range is EINVAL), one pass over every mm each period.
 */
import { schedPoint, type Co } from '../engine/actor.js';
import { delay } from '../engine/actor.js';
import { EAGAIN, EINVAL, ENOMEM, type Errno } from './errno.js';
import type { Kernel } from './kernel.js';
import { down_read, up_read } from './locking.js';
import { MAPPING_ANON } from './mem_map.js';
import { HPAGE_PMD_ORDER } from './hugetlb.js';
import { HPAGE_PMD_NR, HPAGE_PMD_SIZE, pmd_trans_huge, set_pmd_at } from './huge_memory.js';
import { ptep_clear, tlb_finish_mmu, tlb_gather_mmu } from './memory.js';
import { find_vma, is_device_exclusive_entry, is_device_private_entry, pte_pfn, pte_present, pte_write, PTE_DIRTY, PTE_WRITE, type MmStruct, type VmAreaStruct } from './mm_types.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init, MMU_NOTIFY_CLEAR,
} from './mmu_notifier.js';
import { SetPageAnonExclusive } from './page-flags.js';
import { PAGE_SIZE, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_SHARED, VM_WRITE, ZERO_PFN } from './types.js';

/** The scan results pinsim distinguishes (mm/khugepaged.c enum scan_result). */
export type ScanResult =
  | 'SCAN_SUCCEED' | 'SCAN_PMD_MAPPED' | 'SCAN_VMA_CHECK' | 'SCAN_EXCEED_NONE_PTE' | 'SCAN_EXCEED_SHARED_PTE'
  | 'SCAN_PTE_NON_PRESENT' | 'SCAN_PAGE_RO' | 'SCAN_PAGE_ANON' | 'SCAN_PAGE_COUNT' | 'SCAN_ALLOC_HUGE_PAGE_FAIL';

/** Who collapses: khugepaged keeps the sysfs limits and mode, MADV_COLLAPSE does not. */
type Collapser = 'khugepaged' | 'madvise';

/**
 * vma_merge_anon() - merge the private anonymous VMAs with the same flags that follow @vma into
 * it, as the kernel's vma_merge() did when the mprotect or MADV_DOFORK that made them alike ran
 * (pinsim does not merge VMAs then). Return: @vma. Context: mmap_lock held.
 */
function vma_merge_anon(vma: VmAreaStruct): VmAreaStruct {
  const mm = vma.vm_mm;
  if (vma.vm_file !== null || vma.vm_huge_order) return vma;
  let i = mm.vmas.indexOf(vma) + 1;
  for (let next = mm.vmas[i]; next && next.vm_start === vma.vm_end && next.vm_flags === vma.vm_flags && next.vm_file === null && !next.vm_huge_order; next = mm.vmas[i]) {
    vma.vm_end = next.vm_end;
    mm.vmas.splice(i, 1);
  }
  return vma;
}

/** hugepage_vma_check() - may @who collapse [@haddr, +2 MiB) of @vma? */
function collapse_vma_ok(k: Kernel, vma: VmAreaStruct | null, haddr: number, who: Collapser): vma is VmAreaStruct {
  if (!vma || vma.vm_file !== null || vma.vm_huge_order || vma.vm_flags & (VM_SHARED | VM_NOHUGEPAGE)) return false;
  if (haddr < vma.vm_start || haddr + HPAGE_PMD_SIZE > vma.vm_end) return false;
  if (who === 'madvise') return true;
  return k.thp === 'always' || (k.thp === 'madvise' && (vma.vm_flags & VM_HUGEPAGE) !== 0);
}

/**
 * hpage_collapse_scan_pmd() - may the 2 MiB at @haddr of @mm be collapsed? Reads the entries as they
 * are now (nothing sleeps). Return: SCAN_SUCCEED or why not.
 */
export function hpage_collapse_scan_pmd(k: Kernel, mm: MmStruct, haddr: number, who: Collapser): ScanResult {
  if (pmd_trans_huge(mm, haddr)) return 'SCAN_PMD_MAPPED';
  const m = k.mem;
  let present = 0, writable = false, shared = 0;
  const v0 = haddr / PAGE_SIZE;
  const heads = new Map<number, number>();
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pte = mm.pgtable.get(v0 + i);
    if (is_device_private_entry(pte) || is_device_exclusive_entry(pte)) return 'SCAN_PTE_NON_PRESENT';
    if (!pte_present(pte)) continue;
    const pfn = pte_pfn(pte);
    if (pte_write(pte)) writable = true;
    if (pfn === ZERO_PFN) continue;
    present++;
    if (m.mapping[pfn] !== MAPPING_ANON) return 'SCAN_PAGE_ANON';
    const head = m.folio_head(pfn);
    // page_mapcount(): the page's own PTE mappings plus the folio's entire (PMD) mappings, so a page
    // of a THP the parent still maps by its PMD is shared (6.9+: folio_likely_mapped_shared()).
    if (m.mapcount(pfn) + m.folio_entire_mapcount(head) > 1) shared++;
    heads.set(head, (heads.get(head) ?? 0) + 1);
  }
  if (who === 'khugepaged' && present === 0) return 'SCAN_EXCEED_NONE_PTE';
  // ≤ 5.7 a page mapped by another process too is refused like any extra reference (page_count
  // must be 1); 5.8 allows up to max_ptes_shared (half the range) for khugepaged, any for MADV_COLLAPSE.
  if (shared && !k.features.khugepaged_shared) return 'SCAN_PAGE_COUNT';
  if (who === 'khugepaged' && shared > HPAGE_PMD_NR / 2) return 'SCAN_EXCEED_SHARED_PTE';
  // is_refcount_suitable(): a folio's references are its mappings', nothing more.
  for (const head of heads.keys()) if (m.refcount(head) !== m.folio_mapcount(head)) return 'SCAN_PAGE_COUNT';
  if (!writable) return 'SCAN_PAGE_RO';
  return 'SCAN_SUCCEED';
}

/**
 * collapse_huge_page() - collapse the 2 MiB at @haddr of @vma into a new THP: allocate it, clear the
 * range under MMU_NOTIFY_CLEAR, re-check the references (__collapse_huge_page_isolate()), copy, map
 * the PMD. Context: mmap_lock held; may sleep (the notifier). Return: SCAN_SUCCEED or why not.
 */
export function* collapse_huge_page(k: Kernel, vma: VmAreaStruct, haddr: number, who: Collapser): Co<ScanResult> {
  const mm = vma.vm_mm;
  const head = k.alloc.alloc_pages(HPAGE_PMD_ORDER);
  if (head < 0) return 'SCAN_ALLOC_HUGE_PAGE_FAIL';
  const m = k.mem;
  const range = mmu_notifier_range_init(k, mm, MMU_NOTIFY_CLEAR, haddr, haddr + HPAGE_PMD_SIZE);
  yield* mmu_notifier_invalidate_range_start(k, range);
  yield* schedPoint('khugepaged:after_notifier_start');
  // Under the PMD and PTE locks: the entries and references are read again.
  const r = hpage_collapse_scan_pmd(k, mm, haddr, who);
  if (r !== 'SCAN_SUCCEED') {
    yield* mmu_notifier_invalidate_range_end(k, range);
    k.alloc.free_pages(head, HPAGE_PMD_ORDER);
    return r;
  }
  k.movable.add(head, HPAGE_PMD_NR);
  const v0 = haddr / PAGE_SIZE;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    const pte = mm.pgtable.get(v0 + i);
    m.content[head + i] = pte_present(pte) && pte_pfn(pte) !== ZERO_PFN ? m.contentOf(pte_pfn(pte)) : 0;
  }
  m.mapping.fill(MAPPING_ANON, head, head + HPAGE_PMD_NR);
  for (let i = 0; i < HPAGE_PMD_NR; i++) m.index[head + i] = v0 + i;
  SetPageAnonExclusive(k, head);
  k.emit({ type: 'folio_alloc', time: k.now, actor: k.actorName(), pfn: head, gen: m.genOf(head), owner: `anon:${mm.owner}`, file: '', index: -1, nr: HPAGE_PMD_NR });
  const gather = tlb_gather_mmu();
  let n = 0;
  mm.pgtable.forEachIn(v0, v0 + HPAGE_PMD_NR - 1, (v) => { if (ptep_clear(k, mm, v * PAGE_SIZE, gather) >= 0) n++; });
  set_pmd_at(k, mm, haddr, head, vma.vm_flags & VM_WRITE ? PTE_WRITE | PTE_DIRTY : PTE_DIRTY);
  k.emit({ type: 'thp_collapse', time: k.now, actor: k.actorName(), mm: mm.owner, va: haddr, pfn: head, pages: n, by: who });
  yield* delay(HPAGE_PMD_NR * k.timing.zapPerPage, 'khugepaged:copied');
  yield* mmu_notifier_invalidate_range_end(k, range);
  tlb_finish_mmu(k, gather);
  return 'SCAN_SUCCEED';
}

/** madvise_collapse_errno() - what MADV_COLLAPSE answers for a refusal. */
function madvise_collapse_errno(k: Kernel, r: ScanResult): Errno {
  if (r === 'SCAN_ALLOC_HUGE_PAGE_FAIL') return ENOMEM;
  if (r === 'SCAN_PAGE_COUNT') return k.features.madv_collapse_eagain ? EAGAIN : EINVAL;
  return EINVAL;
}

/**
 * madvise_collapse() - MADV_COLLAPSE of [@start, @end): every 2 MiB-aligned range inside it is
 * collapsed now, or refused. Context: takes mmap_lock for read; may sleep.
 * Return: 0 when every range is (now) PMD-mapped; else the errno of the last refusal; EINVAL before
 * 6.1; ENOMEM when part of the range is unmapped.
 */
export function* madvise_collapse(k: Kernel, mm: MmStruct, start: number, end: number): Co<0 | Errno> {
  if (!k.features.madv_collapse) return EINVAL;
  const hstart = Math.ceil(start / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE, hend = Math.floor(end / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
  yield* down_read(mm.mmap_lock, 'madvise:mmap_read_lock');
  let last: ScanResult | null = null;
  let err: 0 | Errno = 0;
  for (let a = start; a < end;) {
    const vma = find_vma(mm, a);
    if (!vma) { err = ENOMEM; break; }
    a = vma.vm_end;
  }
  for (let haddr = hstart; haddr < hend && !err; haddr += HPAGE_PMD_SIZE) {
    const vma = find_vma(mm, haddr);
    // What pinsim left split, the kernel would have merged (see vma_merge_anon()).
    if (vma) vma_merge_anon(vma);
    if (!collapse_vma_ok(k, vma, haddr, 'madvise')) { last = 'SCAN_VMA_CHECK'; continue; }
    let r = hpage_collapse_scan_pmd(k, mm, haddr, 'madvise');
    if (r === 'SCAN_SUCCEED') r = yield* collapse_huge_page(k, vma, haddr, 'madvise');
    if (r !== 'SCAN_SUCCEED' && r !== 'SCAN_PMD_MAPPED') last = r;
    k.emit({ type: 'thp_collapse_scan', time: k.now, actor: k.actorName(), mm: mm.owner, va: haddr, result: r, by: 'madvise' });
  }
  up_read(mm.mmap_lock);
  if (err) return err;
  return last === null ? 0 : madvise_collapse_errno(k, last);
}

/**
 * khugepaged_scan() - one pass of khugepaged over every live mm: each eligible 2 MiB range with a
 * page present is scanned and, when it may be, collapsed. Context: khugepaged; may sleep.
 * Return: the ranges collapsed.
 */
export function* khugepaged_scan(k: Kernel): Co<number> {
  let collapsed = 0;
  if (k.thp === 'never') return 0;
  for (const p of [...k.processes.values()]) {
    const mm = p.mm;
    if (!p.alive || mm.dead) continue;
    for (const vma of [...mm.vmas]) {
      const first = Math.ceil(vma.vm_start / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
      for (let haddr = first; haddr + HPAGE_PMD_SIZE <= vma.vm_end; haddr += HPAGE_PMD_SIZE) {
        if (!collapse_vma_ok(k, vma, haddr, 'khugepaged') || pmd_trans_huge(mm, haddr)) continue;
        const r0 = hpage_collapse_scan_pmd(k, mm, haddr, 'khugepaged');
        if (r0 === 'SCAN_EXCEED_NONE_PTE') continue;
        yield* down_read(mm.mmap_lock, 'khugepaged:mmap_read_lock');
        // The VMA may have changed while khugepaged waited for the lock (hugepage_vma_revalidate()).
        const now = find_vma(mm, haddr);
        const r = now === vma && collapse_vma_ok(k, vma, haddr, 'khugepaged') && r0 === 'SCAN_SUCCEED'
          ? yield* collapse_huge_page(k, vma, haddr, 'khugepaged') : r0;
        up_read(mm.mmap_lock);
        k.emit({ type: 'thp_collapse_scan', time: k.now, actor: k.actorName(), mm: mm.owner, va: haddr, result: r, by: 'khugepaged' });
        if (r === 'SCAN_SUCCEED') collapsed++;
      }
    }
  }
  return collapsed;
}
