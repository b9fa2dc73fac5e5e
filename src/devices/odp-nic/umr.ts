/**
 * UMR: how mlx5 rewrites an MR's translation entries (MTTs) — a work request on the UMR QP that
 * the HCA executes. Mapping programs the entries a device page fault resolved; zapping clears the
 * entries of an invalidated range and waits for the completion. The failure knobs model the 2022
 * reports: umrFailure "alloc" (no memory for the XLT buffer: the one global emergency page, slower
 * and serialised, never failing) and "completion" (the zap completes in error and QP recovery fails:
 * the device is declared dead), and unsafeIgnoreZapFailure (the what-if of a driver that shrugs it
 * off: not dead, its MTTs kept, DMA going on through them).
 * Kernel: drivers/infiniband/hw/mlx5/umr.c mlx5r_umr_update_xlt(), mlx5r_umr_post_send_wait(),
 * mlx5r_umr_recover(); odp.c pagefault_real_mr() (MAP), mlx5_ib_invalidate_range() (ZAP).
 */
import { delay, type Co } from '../../engine/actor.js';
import { EFAULT, type Errno } from '../../mm/errno.js';
import type { HmmRange } from '../../mm/hmm.js';
import { mutex_lock, mutex_unlock } from '../../mm/locking.js';
import { WARN_ON_ONCE } from '../../mm/mmdebug.js';
import { PAGE_SIZE } from '../../mm/types.js';
import { mlx5_ib_dev_dead, type Mlx5IbDev, type OdpMr } from './mlx5_ib.js';
import { ib_umem_odp_unmap_dma_page, type IbUmemOdp } from './umem_odp.js';

/**
 * mlx5r_umr_map_xlt() - (pinsim-only name: mlx5r_umr_update_xlt() without ZAP) program the MTTs of
 * @umem from @range, the walk ib_umem_odp_map_dma_and_lock() validated. A page the walk could not
 * map is left alone; a page translated already to the same frame only has its write access
 * updated; one translated to another frame is unmapped (dirtied) first. The device may write a
 * page when the MR is writable and the walk found it writable and not the zero page.
 * Context: umem_mutex held.
 * Return: 0, or EFAULT when the device is dead or its UMR QP broken (nothing is programmed).
 */
export function mlx5r_umr_map_xlt(dev: Mlx5IbDev, mr: OdpMr, umem: IbUmemOdp, range: HmmRange): 0 | Errno {
  if (dev.umr_broken || dev.dead) return EFAULT;
  const first = range.start / PAGE_SIZE;
  range.hmm_pfns.forEach((h, i) => {
    if (h.pfn < 0 || h.error) return;
    const vpn = first + i;
    const old = umem.table.lookup(vpn);
    const write = mr.writable && h.write && !h.zero;
    if (old && old.pfn === h.pfn) {
      umem.table.setWrite(vpn, write);
      return;
    }
    if (old) ib_umem_odp_unmap_dma_page(umem, vpn, true);
    umem.table.insert(vpn, h.pfn, write, range.snapSeq, h.gen);
  });
  return 0;
}

/**
 * mlx5r_umr_zap_xlt() - (pinsim-only name: mlx5r_umr_update_xlt(MLX5_IB_UPD_XLT_ZAP)) post the zap
 * UMR for an invalidated range and wait for its completion (invalidateLatency; four times that,
 * serialised on the emergency page, when the XLT buffer could not be allocated). A failed
 * completion whose QP recovery fails breaks UMR for good (WARN from linux-6.0) and declares the
 * device dead, unless the unsafe what-if keeps its MTTs.
 * Context: umem_mutex held; sleeps.
 * Return: true when the HW no longer translates the range, false when the what-if kept the MTTs.
 * Kernel: drivers/infiniband/hw/mlx5/umr.c mlx5r_umr_update_xlt(), mlx5r_umr_post_send_wait(),
 * mlx5r_umr_recover().
 */
export function* mlx5r_umr_zap_xlt(dev: Mlx5IbDev): Co<boolean> {
  const k = dev.ctx.k;
  if (dev.p.umrFailure === 'alloc') {
    yield* mutex_lock(dev.xlt_emergency_page_mutex, dev.ctx.name, 'odp:emergency_page');
    // The HCA executes the UMR from the one emergency page: other zaps wait their turn.
    yield* delay(dev.p.invalidateLatency * 4, 'odp:umr_zap_emergency');
    mutex_unlock(dev.xlt_emergency_page_mutex);
  } else yield* delay(dev.p.invalidateLatency, 'odp:umr_zap'); // waiting for the UMR's completion
  if (dev.p.umrFailure !== 'completion' && !dev.umr_broken) return true;
  dev.umr_broken = true;
  if (k.features.mlx5_umr_warn) {
    WARN_ON_ONCE(k, true, 'drivers/infiniband/hw/mlx5/umr.c:mlx5r_umr_post_send_wait', -1, `${dev.ctx.name}: bad UMR completion, QP recovery failed`);
  }
  if (dev.p.unsafeIgnoreZapFailure) return false; // the HW keeps its MTTs and goes on
  mlx5_ib_dev_dead(dev, 'zap UMR failed and UMR QP recovery failed');
  return true;
}
