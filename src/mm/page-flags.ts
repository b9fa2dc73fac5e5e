/**
 * PageAnonExclusive (5.19): whether an anonymous page is mapped by one process only, so that a write
 * fault may reuse it whatever its refcount and GUP may pin it. Set on a fresh anonymous page (and on
 * one reused by a write fault), cleared when fork shares it; migration carries it to the new page.
 * The flag exists only in eras that have it (features.anon_exclusive): before 5.19 the setters do
 * nothing, so the frame table of an older era looks as it did.
 * Kernel: include/linux/page-flags.h PageAnonExclusive(), SetPageAnonExclusive(),
 * ClearPageAnonExclusive() (5.19); include/linux/mm.h folio_maybe_dma_pinned().
 * Simplified: one flag per folio, on its head: right for order-0 folios and for hugetlb, which
 * keeps it on the head page; a PTE-mapped large anonymous folio (per-page flags) comes with THP.
 */
import type { Kernel } from './kernel.js';
import { GUP_PIN_COUNTING_BIAS, PG_anon_exclusive, ZERO_PFN } from './types.js';

/** PageAnonExclusive() - the bit, as the era's kernel sees it: false before 5.19. */
export function PageAnonExclusive(k: Kernel, pfn: number): boolean {
  return k.features.anon_exclusive && pfn !== ZERO_PFN && (k.mem.flagsOf(k.mem.folio_head(pfn)) & PG_anon_exclusive) !== 0;
}

/** SetPageAnonExclusive() - @pfn is now mapped by its process only. */
export function SetPageAnonExclusive(k: Kernel, pfn: number): void {
  if (!k.features.anon_exclusive || pfn === ZERO_PFN) return;
  const head = k.mem.folio_head(pfn);
  k.mem.flags[head] = k.mem.flagsOf(head) | PG_anon_exclusive;
}

/** ClearPageAnonExclusive() - @pfn may be mapped by more than one process. */
export function ClearPageAnonExclusive(k: Kernel, pfn: number): void {
  if (!k.features.anon_exclusive || pfn === ZERO_PFN) return;
  const head = k.mem.folio_head(pfn);
  k.mem.flags[head] = k.mem.flagsOf(head) & ~PG_anon_exclusive;
}

/**
 * folio_has_pincount() - does the era keep a separate, exact pin count for a folio of @order?
 * From 5.7 (FOLL_PIN) for large folios of order ≥ 2 (hpage_pinned_refcount in the third page, then
 * folio->_pincount); smaller ones take the GUP_PIN_COUNTING_BIAS in their refcount.
 * Kernel: include/linux/mm.h hpage_pincount_available() (5.7), folio_has_pincount().
 * Simplified: pinsim has no order-1 folios, so when 64-bit kernels started counting their pins
 * too does not matter yet.
 */
export function folio_has_pincount(k: Kernel, order: number): boolean {
  return k.features.foll_pin && order >= 2;
}

/**
 * folio_maybe_dma_pinned() - may @pfn's folio be DMA-pinned? Exact for a folio with its own pin
 * count; for an order-0 folio the answer is fuzzy: refcount ≥ GUP_PIN_COUNTING_BIAS (false
 * positives allowed, never false negatives). Before 5.7 there is no such tracking: always false.
 */
export function folio_maybe_dma_pinned(k: Kernel, pfn: number): boolean {
  if (!k.features.foll_pin) return false;
  const m = k.mem;
  const head = m.folio_head(pfn);
  if (folio_has_pincount(k, m.folio_order(head))) return m.pincount(head) > 0;
  return m.refcount(head) >= GUP_PIN_COUNTING_BIAS;
}
