/**
 * ib_umem_odp: the RDMA core's part of an ODP MR. A umem holds no page reference: it inserts an
 * mmu_interval_notifier over its range, and maps pages for the device only through the notifier's
 * collision-retry protocol, as drawn in mm/mmu_interval_notifier.ts:
 *
 *   ib_umem_odp_map_dma_and_lock()                 invalidation (the driver's notifier)
 *   seq = mmu_interval_read_begin()
 *   mmap_read_lock; hmm_range_fault(); unlock      mutex_lock(umem_mutex)
 *                                                  mmu_interval_set_seq(); zap; unmap pages
 *   mutex_lock(umem_mutex)                         mutex_unlock(umem_mutex)
 *   mmu_interval_read_retry(seq)? unlock, again
 *   return with umem_mutex held: the driver programs its MTTs, then unlocks
 *
 * The device's translations of the umem live in its TranslationTable, which is both the umem's DMA
 * list and the HW MTT; `stale` names the entries the two disagree on: after a failed zap the driver
 * unmapped their DMA addresses (and forgot them) while the MTT still translates them. An MR
 * registered with IB_ACCESS_HUGETLB maps huge entries (page_shift 21, or the VMA's huge page shift
 * before 5.10): the umem covers whole entries, a fault maps a whole entry (from 5.10 refusing a
 * page mapped smaller than one), and an invalidation zaps every entry it touches whole.
 * Kernel: drivers/infiniband/core/umem_odp.c ib_umem_odp_get(), ib_umem_odp_map_dma_and_lock(),
 * ib_umem_odp_unmap_dma_pages(), ib_umem_odp_release().
 * Simplified: a huge entry is its pages' translations in the table; the fault's own latency
 * (`faultLatency`) is spent before umem_mutex is taken; the DMA mapping and the UMR that programs
 * the MTTs run under it (umr.ts).
 */
import { delay, type Co } from '../../engine/actor.js';
import { EBUSY, EINVAL, type Errno } from '../../mm/errno.js';
import { HMM_RANGE_DEFAULT_TIMEOUT, hmm_range_fault, type HmmRange } from '../../mm/hmm.js';
import type { Process } from '../../mm/kernel.js';
import { down_read, Mutex, mutex_lock, mutex_unlock, up_read } from '../../mm/locking.js';
import {
  MmuIntervalNotifier, mmu_interval_notifier_insert, mmu_interval_notifier_remove, mmu_interval_read_begin,
  mmu_interval_read_retry, type MmuIntervalNotifierOps,
} from '../../mm/mmu_interval_notifier.js';
import type { MmuNotifierRange } from '../../mm/mmu_notifier.js';
import { find_vma } from '../../mm/mm_types.js';
import { folio_mark_dirty } from '../../mm/page-writeback.js';
import { PAGE_SHIFT } from '../../mm/types.js';
import { dma_unmap_translation, TranslationTable, type DeviceCtx, type TableEntry } from '../device.js';

/** The driver's invalidate for one umem (mlx5_mn_ops.invalidate, with the umem it is embedded in). */
export type UmemInvalidate = (umem: IbUmemOdp, sub: MmuIntervalNotifier, range: MmuNotifierRange, cur_seq: number) => Co<boolean>;

/** HPAGE_SHIFT on x86-64: the entry size of an IB_ACCESS_HUGETLB umem from 5.10. */
export const HPAGE_SHIFT = 21;

/** struct ib_umem_odp: the notifier over [start, end), umem_mutex, and the device's translations. */
export class IbUmemOdp {
  readonly ctx: DeviceCtx;
  readonly start: number;
  readonly end: number;
  /** log2 of the size one device translation entry maps: PAGE_SHIFT, or a huge page's (IB_ACCESS_HUGETLB). */
  page_shift = PAGE_SHIFT;
  readonly notifier: MmuIntervalNotifier;
  readonly umem_mutex: Mutex;
  readonly table: TranslationTable;
  /** MTT entries whose DMA mapping the driver dropped after a failed zap: the HW still uses them. */
  readonly stale = new Set<number>();

  constructor(ctx: DeviceCtx, proc: Process, mr_name: string, start: number, end: number, invalidate: UmemInvalidate) {
    this.ctx = ctx;
    this.start = start;
    this.end = end;
    this.umem_mutex = new Mutex(`${ctx.name}.${mr_name}.umem_mutex`);
    // The notifier is embedded in the umem (container_of in the kernel): its op finds this umem.
    const ops: MmuIntervalNotifierOps = { invalidate: (sub, range, cur_seq) => invalidate(this, sub, range, cur_seq) };
    this.notifier = new MmuIntervalNotifier(proc.mm, start, end - start, ops, ctx.name);
    this.table = new TranslationTable(ctx, proc.mm.owner, { sub: this.notifier });
  }
}

/**
 * ib_umem_odp_get() - make the umem of [@start, @end) of @proc's mm and subscribe its notifier,
 * whose invalidate is the driver's @invalidate.
 * Context: process context, mmap_lock not held.
 * Return: the umem, or EINVAL when the mm is gone.
 * Kernel: drivers/infiniband/core/umem_odp.c ib_umem_odp_get(), ib_init_umem_odp().
 */
export function ib_umem_odp_get(
  ctx: DeviceCtx, proc: Process, mr_name: string, start: number, end: number, invalidate: UmemInvalidate, hugetlb = false,
): IbUmemOdp | Errno {
  const shift = hugetlb ? ib_umem_odp_hugetlb_shift(ctx, proc, start) : PAGE_SHIFT;
  if (typeof shift === 'string') return shift;
  // ib_umem_start()/ib_umem_end(): the umem covers whole entries.
  const size = 2 ** shift;
  const umem = new IbUmemOdp(ctx, proc, mr_name, Math.floor(start / size) * size, Math.ceil(end / size) * size, invalidate);
  umem.page_shift = shift;
  const err = mmu_interval_notifier_insert(ctx.k, umem.notifier);
  return err || umem;
}

/**
 * ib_umem_odp_hugetlb_shift() - the entry size of an IB_ACCESS_HUGETLB umem at @start: HPAGE_SHIFT
 * from 5.10; before, the huge page shift of the VMA at @start, which must be hugetlb (EINVAL).
 * Kernel: drivers/infiniband/core/umem_odp.c ib_init_umem_odp() (5.10: 36f30e486dce).
 */
function ib_umem_odp_hugetlb_shift(ctx: DeviceCtx, proc: Process, start: number): number | Errno {
  if (ctx.k.features.odp_hugetlb_hpage_shift) return HPAGE_SHIFT;
  const vma = find_vma(proc.mm, start);
  return vma?.vm_huge_order ? PAGE_SHIFT + vma.vm_huge_order : EINVAL;
}

/** ib_umem_odp_entry_range() - [@start, @end) widened to @umem's whole entries, within the umem. */
export function ib_umem_odp_entry_range(umem: IbUmemOdp, start: number, end: number): [number, number] {
  const size = 2 ** umem.page_shift;
  return [Math.max(umem.start, Math.floor(start / size) * size), Math.min(umem.end, Math.ceil(end / size) * size)];
}

/**
 * ib_umem_odp_map_dma_and_lock() - walk [@start, @end) with hmm_range_fault() (faulting pages in
 * when @fault, asking them writable when @write) and take umem_mutex with the walk still valid.
 * @fault_ns: the time the device's fault handling takes before it can take umem_mutex (spent
 * only when there is something to map: a snapshot that found nothing present costs nothing).
 * Context: may sleep; takes mmap_lock for read around the walk; returns holding umem_mutex.
 * Return: the range whose hmm_pfns to map, with umem_mutex held; or, with nothing held, EBUSY
 * (HMM_RANGE_DEFAULT_TIMEOUT passed while invalidations kept colliding) or the walk's errno
 * (EFAULT, EPERM).
 * Kernel: drivers/infiniband/core/umem_odp.c ib_umem_odp_map_dma_and_lock().
 */
export function* ib_umem_odp_map_dma_and_lock(umem: IbUmemOdp, start: number, end: number, write: boolean, fault: boolean, fault_ns: number): Co<HmmRange | Errno> {
  const k = umem.ctx.k;
  [start, end] = ib_umem_odp_entry_range(umem, start, end);
  const mm = umem.notifier.mm;
  const deadline = k.now + HMM_RANGE_DEFAULT_TIMEOUT;
  for (;;) {
    if (k.now > deadline) return EBUSY;
    // Pairs with mmu_interval_read_retry() below.
    const seq = yield* mmu_interval_read_begin(k, umem.notifier);
    const range: HmmRange = { notifier: umem.notifier, notifier_seq: seq, start, end, fault, write, hmm_pfns: [], snapSeq: 0 };
    yield* down_read(mm.mmap_lock, 'odp:mmap_read_lock');
    const ret = yield* hmm_range_fault(k, mm, range, umem.ctx.name);
    up_read(mm.mmap_lock);
    if (ret === EBUSY) continue;
    if (ret) return ret;
    // 5.10+: a huge entry needs every page it maps to be mapped at least that large.
    if (umem.page_shift > PAGE_SHIFT && k.features.odp_hugetlb_hpage_shift
      && range.hmm_pfns.some((h) => h.pfn >= 0 && PAGE_SHIFT + (h.order ?? 0) < umem.page_shift)) return EINVAL;
    // DMA-mapping and programming the MTTs take the fault latency: an invalidation may run meanwhile.
    if (fault || range.hmm_pfns.some((h) => h.pfn >= 0)) yield* delay(fault_ns, 'odp:fault_latency');
    yield* mutex_lock(umem.umem_mutex, umem.ctx.name, 'odp:fault_umem_mutex');
    if (mmu_interval_read_retry(umem.notifier, seq)) {
      mutex_unlock(umem.umem_mutex);
      continue;
    }
    return range;
  }
}

/**
 * ib_umem_odp_unmap_dma_page() - drop the device's translation of page @vpn, dirtying the folio
 * first when the device could write it and @dirty (a still-allocated frame only). An entry the
 * driver already dropped after a failed zap (stale) is only cleared from the MTT now.
 * Context: umem_mutex held (or the device dead). Return: nothing.
 * Kernel: drivers/infiniband/core/umem_odp.c ib_umem_odp_unmap_dma_pages(), one page of it.
 */
export function ib_umem_odp_unmap_dma_page(umem: IbUmemOdp, vpn: number, dirty: boolean): void {
  const k = umem.ctx.k;
  if (umem.stale.has(vpn)) {
    umem_hw_erase(umem, vpn);
    return;
  }
  const x = umem.table.lookup(vpn);
  if (!x) return;
  if (dirty && x.write && !k.mem.free[x.pfn]) folio_mark_dirty(k, x.pfn, 'ib_umem_odp_unmap_dma_pages');
  umem.table.erase(vpn);
}

/**
 * ib_umem_odp_unmap_dma_pages() - drop the device's translations of pages [@first, @end) (@end may
 * be Infinity) in one walk of the range, dirtying first the still-allocated frames the device could
 * write when @dirty; traced as one `dev_unmap` per table leaf. Entries a failed zap left stale are
 * not in the driver's DMA list: the walk goes around them (umem_hw_erase_stale() clears them).
 * Context: umem_mutex held (or the device dead): no preemption point inside. Return: nothing.
 * Kernel: drivers/infiniband/core/umem_odp.c ib_umem_odp_unmap_dma_pages().
 */
export function ib_umem_odp_unmap_dma_pages(umem: IbUmemOdp, first: number, end: number, dirty: boolean): void {
  const k = umem.ctx.k;
  const before = dirty ? (_vpn: number, pfn: number, write: boolean): void => {
    if (write && !k.mem.free[pfn]) folio_mark_dirty(k, pfn, 'ib_umem_odp_unmap_dma_pages');
  } : undefined;
  let from = first;
  for (const s of staleIn(umem, first, end)) {
    umem.table.eraseRange(from, s, before);
    from = s + 1;
  }
  umem.table.eraseRange(from, end, before);
}

/** staleIn() - the stale entries of [@first, @end), in increasing order (none, without allocating, usually). */
function staleIn(umem: IbUmemOdp, first: number, end: number): readonly number[] {
  if (umem.stale.size === 0) return [];
  return [...umem.stale].filter((v) => v >= first && v < end).sort((a, b) => a - b);
}

/**
 * umem_dma_mapped_in() - (pinsim-only) does the driver's DMA list hold a page of [@first, @end)?
 * (Present entries but the stale ones.) Context: umem_mutex held. Return: whether it does.
 */
export function umem_dma_mapped_in(umem: IbUmemOdp, first: number, end: number): boolean {
  if (umem.stale.size === 0) return umem.table.anyIn(first, end);
  let any = false;
  umem.table.walk(first, end, (vpn) => {
    if (!umem.stale.has(vpn)) any = true;
  });
  return any;
}

/**
 * ib_umem_odp_unmap_dma_pages_stale() - (pinsim-only name) what ib_umem_odp_unmap_dma_pages() does
 * over [@first, @end) when the zap before it failed: each page in the DMA list is dirtied (when the
 * device could write it) and its DMA address unmapped (an IOMMU then faults the device's access),
 * and the driver forgets it, but the MTT entry stays: the device can go on reaching the frame
 * through it.
 * Context: umem_mutex held. Return: nothing.
 * Kernel: drivers/infiniband/core/umem_odp.c ib_umem_odp_unmap_dma_pages() after a failed
 * mlx5r_umr_update_xlt(ZAP) in drivers/infiniband/hw/mlx5/odp.c mlx5_ib_invalidate_range().
 */
export function ib_umem_odp_unmap_dma_pages_stale(umem: IbUmemOdp, first: number, end: number): void {
  const k = umem.ctx.k;
  const victims: number[] = [];
  umem.table.walk(first, end, (vpn) => {
    if (!umem.stale.has(vpn)) victims.push(vpn);
  });
  for (const vpn of victims) {
    const x = umem.table.lookup(vpn) as TableEntry;
    if (x.write && !k.mem.free[x.pfn]) folio_mark_dirty(k, x.pfn, 'ib_umem_odp_unmap_dma_pages');
    dma_unmap_translation(umem.ctx, x);
    umem.stale.add(vpn);
  }
}

/**
 * umem_hw_erase() - (pinsim-only) clear the MTT entry of a stale page (the driver unmapped its DMA
 * address already): a later UMR overwrote it, or the MR went away.
 * Context: umem_mutex held (or the device dead). Return: nothing.
 */
export function umem_hw_erase(umem: IbUmemOdp, vpn: number): void {
  umem.stale.delete(vpn);
  umem.table.erase(vpn);
}

/**
 * umem_hw_erase_stale() - (pinsim-only) clear the MTT entries of every stale page: the MR went away.
 * Context: umem_mutex held (or the device dead). Return: nothing.
 */
export function umem_hw_erase_stale(umem: IbUmemOdp): void {
  for (const vpn of staleIn(umem, 0, Infinity)) umem_hw_erase(umem, vpn);
}

/**
 * ib_umem_odp_release() - unsubscribe the notifier, then unmap every page the device still
 * translates (dirtying what it could write). Pairs with ib_umem_odp_get().
 * Context: may sleep (an invalidation in progress finishes first); takes umem_mutex.
 * Return: nothing (a release cannot fail).
 * Kernel: drivers/infiniband/core/umem_odp.c ib_umem_odp_release().
 */
export function* ib_umem_odp_release(umem: IbUmemOdp): Co {
  yield* mmu_interval_notifier_remove(umem.ctx.k, umem.notifier);
  yield* mutex_lock(umem.umem_mutex, umem.ctx.name, 'odp:dereg_umem_mutex');
  ib_umem_odp_unmap_dma_pages(umem, 0, Infinity, true);
  umem_hw_erase_stale(umem);
  mutex_unlock(umem.umem_mutex);
}
