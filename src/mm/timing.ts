/**
 * Where the modelled kernel spends simulated time. Figures come from measurements and the literature where
 * it has one; the rest are pinsim's own order-of-magnitude choices, listed in the README's timing
 * table. Storage I/O latency is not modelled: what matters is page-cache state, not disk speed.
 */
export interface KernelTiming {
  /** syscall entry/exit */
  syscall: number;
  /** a minor fault (allocate or look up, set the PTE) */
  fault: number;
  /** pin_user_pages per 4 KiB page (≈62 ns, measured with gup_test -LT) */
  pinPerPage: number;
  /** unpin per page (≈15 ns, gup_test) */
  unpinPerPage: number;
  /** clearing one PTE in a zap */
  zapPerPage: number;
  /** removing one folio from the page cache in truncate */
  truncatePerPage: number;
  /** a CPU load/store of one page (≈ memcpy of 4 KiB) */
  cpuAccessPerPage: number;
  /** writing one folio back (the I/O submission; completion is not modelled) */
  writebackPerPage: number;
}

export const DEFAULT_TIMING: KernelTiming = {
  syscall: 100,
  fault: 250,
  pinPerPage: 62,
  unpinPerPage: 15,
  zapPerPage: 10,
  truncatePerPage: 25,
  cpuAccessPerPage: 50,
  writebackPerPage: 100,
};
