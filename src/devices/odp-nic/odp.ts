/**
 * mlx5 On-Demand Paging: the MR's interval notifier and the device page faults. An ODP MR holds no
 * page reference in any era: registration maps only the pages already present (a snapshot); a DMA
 * that reaches an unmapped page takes a device page fault, resolved through
 * ib_umem_odp_map_dma_and_lock() and a UMR; a fault that cannot be satisfied completes the DMA in
 * error. A fault on a writable MR asks for write access whatever the HCA operation; a prefetch
 * asks read-only unless PREFETCH_WRITE. The invalidation refuses non-blockable ranges, else takes
 * umem_mutex, sets the seq, zaps the MTTs of the range with a UMR and unmaps its pages, dirtying
 * those the device could write — even when the zap failed.
 * Kernel: drivers/infiniband/hw/mlx5/odp.c mlx5_ib_invalidate_range(), pagefault_real_mr(),
 * pagefault_implicit_mr(), implicit_get_child_mr(), mlx5_ib_init_odp_mr(),
 * mlx5_ib_advise_mr_prefetch().
 * Simplified: implicit children are 1 GiB slots created on first use, never freed before dereg.
 */
import type { Co } from '../../engine/actor.js';
import { wake_up_all } from '../../engine/waitqueue.js';
import { EFAULT, EINVAL, EPERM, IS_ERR, type Errno } from '../../mm/errno.js';
import { mutex_lock, mutex_unlock } from '../../mm/locking.js';
import { mmu_interval_notifier_remove, mmu_interval_set_seq, type MmuIntervalNotifier } from '../../mm/mmu_interval_notifier.js';
import { MMU_NOTIFIER_RANGE_BLOCKABLE, type MmuNotifierRange } from '../../mm/mmu_notifier.js';
import { PAGE_SIZE } from '../../mm/types.js';
import { MLX5_IMR_MTT_SIZE, mlx5_ib_dev_dead, type Mlx5IbDev, type OdpMr } from './mlx5_ib.js';
import { mlx5r_umr_map_xlt, mlx5r_umr_zap_xlt } from './umr.js';
import {
  ib_umem_odp_entry_range, ib_umem_odp_get, ib_umem_odp_map_dma_and_lock, ib_umem_odp_unmap_dma_pages, ib_umem_odp_unmap_dma_pages_stale,
  umem_dma_mapped_in, type IbUmemOdp,
} from './umem_odp.js';

/**
 * mlx5_ib_invalidate_range() - the MR's interval notifier: zap and unmap the pages of @range that
 * @umem's device translates, with the seq set so that a fault in flight retries. The driver ignores
 * what the zap returned: after a failed zap it unmaps the DMA addresses all the same and returns
 * true, the MTT keeping the old translations (afterZapFailure "stale", what the code does). With
 * afterZapFailure "fatal", an assumed hardware guarantee no driver code gives, the device stops all
 * DMA instead. Pages whose zap failed earlier are not in the driver's DMA list and are not zapped.
 * Context: the invalidation's caller (mm); sleeps on umem_mutex (behind a fault programming its
 * MTTs) and the zap UMR, so it refuses a non-blockable range.
 * Return: false for a non-blockable range (the start fails EAGAIN), else true.
 * Kernel: drivers/infiniband/hw/mlx5/odp.c mlx5_ib_invalidate_range().
 */
export function* mlx5_ib_invalidate_range(dev: Mlx5IbDev, umem: IbUmemOdp, sub: MmuIntervalNotifier, range: MmuNotifierRange, cur_seq: number): Co<boolean> {
  if (!(range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE)) return false;
  yield* mutex_lock(umem.umem_mutex, dev.ctx.name, 'odp:invalidate_umem_mutex');
  // Pairs with mmu_interval_read_retry() in ib_umem_odp_map_dma_and_lock().
  mmu_interval_set_seq(sub, cur_seq);
  // Every entry the range touches goes whole (an IB_ACCESS_HUGETLB umem's are huge).
  const [lo, hi] = ib_umem_odp_entry_range(umem, Math.max(range.start, umem.start), Math.min(range.end, umem.end));
  const first = Math.ceil(lo / PAGE_SIZE), end = Math.ceil(hi / PAGE_SIZE);
  // One walk decides whether a zap UMR is needed; umem_mutex keeps the range as it is until the unmap.
  const ret = umem_dma_mapped_in(umem, first, end) && !dev.dead ? yield* mlx5r_umr_zap_xlt(dev) : 0;
  if (!ret) ib_umem_odp_unmap_dma_pages(umem, first, end, true);
  else if (dev.p.afterZapFailure === 'fatal') mlx5_ib_dev_dead(dev, 'zap UMR failed (afterZapFailure "fatal": the device stops all DMA)');
  else ib_umem_odp_unmap_dma_pages_stale(umem, first, end);
  mutex_unlock(umem.umem_mutex);
  return true;
}

/**
 * mlx5_ib_alloc_umem() - (pinsim-only name) the umem of [@start, @end) for @mr, its notifier
 * calling mlx5_ib_invalidate_range(). Context: process context; no sleep.
 * Return: the umem, or EINVAL when the mm is gone.
 * Kernel: odp.c mlx5_ib_init_odp_mr() / implicit_get_child_mr() → ib_umem_odp_get(&mlx5_mn_ops).
 */
export function mlx5_ib_alloc_umem(dev: Mlx5IbDev, mr: OdpMr, start: number, end: number): IbUmemOdp | Errno {
  return ib_umem_odp_get(dev.ctx, mr.proc, mr.name, start, end, (umem, sub, range, cur_seq) => mlx5_ib_invalidate_range(dev, umem, sub, range, cur_seq), mr.hugetlb);
}

/**
 * mlx5_ib_mr_umem() - (pinsim-only name) the umem translating @va for @mr: the MR's own, or the 1 GiB
 * child of an implicit MR, created on first use.
 * Context: the HCA's page-fault path or a prefetch; no sleep.
 * Return: the umem; EFAULT (an explicit MR has none); EINVAL (the mm is gone).
 * Kernel: odp.c pagefault_implicit_mr() → implicit_get_child_mr().
 */
export function mlx5_ib_mr_umem(dev: Mlx5IbDev, mr: OdpMr, va: number): IbUmemOdp | Errno {
  if (!mr.implicit) return mr.children.get(0) ?? EFAULT;
  const slot = Math.floor(va / MLX5_IMR_MTT_SIZE);
  let umem = mr.children.get(slot);
  if (!umem) {
    const made = mlx5_ib_alloc_umem(dev, mr, slot * MLX5_IMR_MTT_SIZE, (slot + 1) * MLX5_IMR_MTT_SIZE);
    if (IS_ERR(made)) return made;
    mr.children.set(slot, (umem = made));
  }
  return umem;
}

/**
 * pagefault_real_mr() - map [@va, @end) of @umem for the device: walk and lock
 * (ib_umem_odp_map_dma_and_lock), program the MTTs with a UMR under umem_mutex, unlock.
 * @write: ask for write access — a device fault on a writable MR always does, whatever the HCA
 * operation (ODP_WRITE_ALLOWED_BIT; FOLL_WRITE for get_user_pages_remote() before 5.10), so a
 * read through it breaks COW and dirties file pages, and fails on a read-only VMA; only a
 * prefetch without PREFETCH_WRITE asks read-only (MLX5_PF_FLAGS_DOWNGRADE).
 * @fault: fault absent pages in (false: a snapshot of what is present).
 * Context: may sleep.
 * Return: 0, or the errno that makes the HW complete the access in error (EBUSY, EFAULT, EPERM).
 * Kernel: drivers/infiniband/hw/mlx5/odp.c pagefault_real_mr().
 */
export function* pagefault_real_mr(dev: Mlx5IbDev, mr: OdpMr, umem: IbUmemOdp, va: number, end: number, write: boolean, fault: boolean): Co<0 | Errno> {
  const range = yield* ib_umem_odp_map_dma_and_lock(umem, va, end, write, fault, dev.p.faultLatency);
  if (IS_ERR(range)) return range;
  // DMA-map and post the UMR with umem_mutex held: an invalidation of the range waits for it.
  const ret = yield* mlx5r_umr_map_xlt(dev, mr, umem, range);
  // Pairs with the mutex_lock() in ib_umem_odp_map_dma_and_lock().
  mutex_unlock(umem.umem_mutex);
  return ret;
}

/**
 * mlx5_ib_mr_pagefault() - (pinsim-only name) a page fault or prefetch on @mr: find its mkey in
 * odp_mkeys and hold it (usecount) while pagefault_real_mr() maps [@va, @end), so that dereg waits
 * for it; an mkey already erased by dereg is not found, and the access fails.
 * Context: may sleep. Return: 0, EFAULT (no mkey: the MR is being deregistered), or
 * pagefault_real_mr()'s errno.
 * Kernel: drivers/infiniband/hw/mlx5/odp.c pagefault_single_data_segment() (xa_load(odp_mkeys),
 * refcount_inc_not_zero(usecount) ... mlx5r_deref_odp_mkey()).
 */
export function* mlx5_ib_mr_pagefault(dev: Mlx5IbDev, mr: OdpMr, umem: IbUmemOdp, va: number, end: number, write: boolean, fault: boolean): Co<0 | Errno> {
  if (mr.deregistered) return EFAULT;
  mr.usecount++;
  const ret = yield* pagefault_real_mr(dev, mr, umem, va, end, write, fault);
  // Pairs with mr.usecount++ above: the last user wakes a dereg waiting in mlx5r_deref_wait_odp_mkey().
  if (--mr.usecount === 0) wake_up_all(mr.mkey_wait);
  return ret;
}

/**
 * mlx5_ib_init_odp_mr() - register the umem of an explicit ODP MR over its pages and map what is
 * already present, without faulting (a snapshot).
 * Context: may sleep. Return: 0, or the snapshot's errno (the umem is then released).
 * Kernel: drivers/infiniband/hw/mlx5/odp.c mlx5_ib_init_odp_mr() (MLX5_PF_FLAGS_SNAPSHOT).
 */
export function* mlx5_ib_init_odp_mr(dev: Mlx5IbDev, mr: OdpMr, start: number, end: number): Co<0 | Errno> {
  const umem = mlx5_ib_alloc_umem(dev, mr, start, end);
  if (IS_ERR(umem)) return umem;
  mr.children.set(0, umem);
  const ret = yield* pagefault_real_mr(dev, mr, umem, start, end, false, false);
  // A failed snapshot mapped nothing: only the notifier has to go.
  if (ret) yield* mmu_interval_notifier_remove(dev.ctx.k, umem.notifier);
  return ret;
}

/**
 * mlx5_ib_advise_mr_prefetch() - ibv_advise_mr(): map [@offset, @offset + @length) of @mr ahead of
 * the device's accesses, umem by umem. PREFETCH_WRITE asks the pages writable; PREFETCH_NO_FAULT
 * maps only what is present, and its errors are not reported.
 * Context: may sleep.
 * Return: 0; EINVAL (deregistered MR); EPERM (PREFETCH_WRITE on a read-only MR); EFAULT (beyond an
 * explicit MR); a fault's errno (not for PREFETCH_NO_FAULT).
 * Kernel: drivers/infiniband/hw/mlx5/odp.c mlx5_ib_advise_mr_prefetch().
 */
export function* mlx5_ib_advise_mr_prefetch(dev: Mlx5IbDev, mr: OdpMr, advice: 'prefetch' | 'prefetch_write' | 'prefetch_no_fault', offset: number, length: number): Co<0 | Errno> {
  if (mr.deregistered) return EINVAL;
  if (advice === 'prefetch_write' && !mr.writable) return EPERM;
  const base = mr.implicit ? offset : mr.start + offset;
  if (!mr.implicit && offset + length > mr.length) return EFAULT;
  if (length === 0) return 0;
  const start = Math.floor(base / PAGE_SIZE) * PAGE_SIZE, end = Math.ceil((base + length) / PAGE_SIZE) * PAGE_SIZE;
  for (let va = start; va < end;) {
    const umem = mlx5_ib_mr_umem(dev, mr, va);
    if (IS_ERR(umem)) return umem;
    const stop = Math.min(end, umem.end);
    // PREFETCH maps read-only (MLX5_PF_FLAGS_DOWNGRADE); PREFETCH_NO_FAULT is a snapshot.
    const ret = yield* mlx5_ib_mr_pagefault(dev, mr, umem, va, stop, advice === 'prefetch_write', advice !== 'prefetch_no_fault');
    if (ret && advice !== 'prefetch_no_fault') return ret;
    va = stop;
  }
  return 0;
}
