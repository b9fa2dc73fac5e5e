/**
 * PageAnonExclusive (5.19): whether an anonymous page is mapped by one process only, so that a write
 * fault may reuse it whatever its refcount and GUP may pin it. Set on a fresh anonymous page (and on
 * one reused by a write fault), cleared when fork shares it; migration carries it to the new page.
 * The flag exists only in eras that have it (features.anon_exclusive): before 5.19 the setters do
 * nothing, so the frame table of an older era looks as it did.
 * Kernel: include/linux/page-flags.h PageAnonExclusive(), SetPageAnonExclusive(),
 * ClearPageAnonExclusive() (5.19). Simplified: order-0 folios, so one flag per folio.
 */
import type { Kernel } from './kernel.js';
import { PG_anon_exclusive, ZERO_PFN } from './types.js';

/** PageAnonExclusive() - the bit, as the era's kernel sees it: false before 5.19. */
export function PageAnonExclusive(k: Kernel, pfn: number): boolean {
  return k.features.anon_exclusive && pfn !== ZERO_PFN && ((k.mem.flags[pfn] as number) & PG_anon_exclusive) !== 0;
}

/** SetPageAnonExclusive() - @pfn is now mapped by its process only. */
export function SetPageAnonExclusive(k: Kernel, pfn: number): void {
  if (!k.features.anon_exclusive || pfn === ZERO_PFN) return;
  k.mem.flags[pfn] = (k.mem.flags[pfn] as number) | PG_anon_exclusive;
}

/** ClearPageAnonExclusive() - @pfn may be mapped by more than one process. */
export function ClearPageAnonExclusive(k: Kernel, pfn: number): void {
  if (!k.features.anon_exclusive || pfn === ZERO_PFN) return;
  k.mem.flags[pfn] = (k.mem.flags[pfn] as number) & ~PG_anon_exclusive;
}
