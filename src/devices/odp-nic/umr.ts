/**
 * UMR: how mlx5 rewrites an MR's translation entries (MTTs) — a work request on the driver's UMR QP
 * that the HCA executes, the driver sleeping until its completion. A device page fault programs the
 * entries it resolved (under umem_mutex, so an invalidation waits behind it); an invalidation zaps
 * the entries of its range. Each UMR takes `invalidateLatency` (four times that, serialised on the
 * one global emergency page, with umrFailure "alloc": no memory for the XLT buffer, which never
 * fails). umrFailure "completion" makes a zap complete in error, and the era's code runs:
 *   - before 6.0 mlx5_ib_post_send_wait() logs it (mlx5_ib_warn, no WARN) and returns -EFAULT; the
 *     UMR QP is now in the error state, so every later UMR (zaps and fault installs) is flushed and
 *     fails with -EFAULT too;
 *   - from 6.0 (158e71bb69e3) mlx5r_umr_post_send_wait() WARNs once, mlx5r_umr_recover() resets the
 *     UMR QP to RTS and the failed zap is not re-applied (-EFAULT); if the reset fails
 *     (umrRecovery "fails") umrc.state becomes MLX5_UMR_STATE_ERR and every later UMR returns
 *     -EFAULT without being posted.
 * Either way mlx5_ib_invalidate_range() ignores the zap's return (odp.ts).
 * Kernel: drivers/infiniband/hw/mlx5/umr.c mlx5r_umr_update_xlt(), mlx5r_umr_post_send_wait(),
 * mlx5r_umr_recover(), mlx5r_umr_alloc_xlt() (6.12; before 6.0 mr.c mlx5_ib_post_send_wait()).
 */
import { delay, type Co } from '../../engine/actor.js';
import { EFAULT, type Errno } from '../../mm/errno.js';
import type { HmmRange } from '../../mm/hmm.js';
import { mutex_lock, mutex_unlock } from '../../mm/locking.js';
import { WARN_ON_ONCE } from '../../mm/mmdebug.js';
import { PAGE_SIZE } from '../../mm/types.js';
import type { Mlx5IbDev, OdpMr } from './mlx5_ib.js';
import { ib_umem_odp_unmap_dma_page, umem_hw_erase, type IbUmemOdp } from './umem_odp.js';

/**
 * mlx5r_umr_post_send_wait() - post one UMR (a zap when @zap) on the UMR QP and sleep until it
 * completes, recovering the QP after a bad completion as the era does. @post runs at the instant
 * the WR is posted (the HCA executes it then; the driver only waits for the completion).
 * Context: umem_mutex held; sleeps (the XLT buffer's emergency page mutex, the completion).
 * Return: 0; EFAULT when the UMR failed (bad completion, a QP in error, or state ERR; @post is not
 * run when the UMR could not be posted).
 * Kernel: drivers/infiniband/hw/mlx5/umr.c mlx5r_umr_post_send_wait(), mlx5r_umr_recover(),
 * mlx5r_umr_alloc_xlt().
 */
export function* mlx5r_umr_post_send_wait(dev: Mlx5IbDev, zap: boolean, post: () => void = () => {}): Co<0 | Errno> {
  const k = dev.ctx.k;
  // 6.0+: state ERR refuses before posting; before: the QP in error flushes the WR at once.
  if (dev.umr_broken) return EFAULT;
  if (dev.p.umrFailure === 'alloc') {
    yield* mutex_lock(dev.xlt_emergency_page_mutex, dev.ctx.name, 'odp:emergency_page');
    post();
    // The HCA executes the UMR from the one emergency page: other UMRs wait their turn.
    yield* delay(dev.p.invalidateLatency * 4, 'odp:umr_emergency');
    mutex_unlock(dev.xlt_emergency_page_mutex);
  } else {
    post();
    yield* delay(dev.p.invalidateLatency, zap ? 'odp:umr_zap' : 'odp:umr_map'); // waiting for the completion
  }
  if (!zap || dev.p.umrFailure !== 'completion') return 0;
  if (k.features.mlx5_umr_recovery) {
    WARN_ON_ONCE(k, true, 'drivers/infiniband/hw/mlx5/umr.c:mlx5r_umr_post_send_wait', -1, `${dev.ctx.name}: bad UMR completion (zap), recovering the UMR QP`);
    // mlx5r_umr_recover(): reset the QP and bring it back to RTS; the failed zap is not re-posted.
    if (dev.p.umrRecovery === 'fails') dev.umr_broken = true;
  } else dev.umr_broken = true; // no recovery flow: the UMR QP stays in the error state
  return EFAULT;
}

/**
 * mlx5r_umr_map_xlt() - (pinsim-only name: mlx5r_umr_update_xlt() without ZAP) post the UMR that
 * programs the MTTs of @umem from @range, the walk ib_umem_odp_map_dma_and_lock() validated, and
 * wait for its completion. A page the walk found no frame for is left unmapped (an entry the HW
 * kept after a failed zap is cleared); a page translated already to the same frame only has its
 * write access updated; one translated to another frame is unmapped (dirtied) first. The device
 * may write a page when the MR is writable and the walk found it writable and not the zero page.
 * Nothing to map, nothing posted.
 * Context: umem_mutex held; sleeps (the UMR's completion): an invalidation of the range waits.
 * Return: 0, or EFAULT when the device is dead or the UMR failed (nothing is programmed).
 */
export function* mlx5r_umr_map_xlt(dev: Mlx5IbDev, mr: OdpMr, umem: IbUmemOdp, range: HmmRange): Co<0 | Errno> {
  if (dev.dead) return EFAULT;
  if (!range.hmm_pfns.some((h) => h.pfn >= 0 && !h.error)) return 0;
  const first = range.start / PAGE_SIZE;
  const batch = umem.table.beginMap(range.snapSeq);
  return yield* mlx5r_umr_post_send_wait(dev, false, () => {
    range.hmm_pfns.forEach((h, i) => {
      const vpn = first + i;
      if (h.pfn < 0 || h.error) {
        if (umem.stale.has(vpn)) umem_hw_erase(umem, vpn);
        return;
      }
      const old = umem.table.lookup(vpn);
      const write = mr.writable && h.write && !h.zero;
      if (old && old.pfn === h.pfn && !umem.stale.has(vpn)) {
        umem.table.setWrite(vpn, write);
        return;
      }
      if (old) ib_umem_odp_unmap_dma_page(umem, vpn, true);
      batch.insert(vpn, h.pfn, write, h.gen);
    });
    batch.end();
  });
}

/**
 * mlx5r_umr_zap_xlt() - (pinsim-only name: mlx5r_umr_update_xlt(MLX5_IB_UPD_XLT_ZAP)) post the zap
 * UMR for an invalidated range and wait for its completion: the zap takes effect when it completes.
 * Context: umem_mutex held; sleeps.
 * Return: 0 when the HW no longer translates the range, EFAULT when the zap failed (the MTTs keep
 * the old translations).
 * Kernel: drivers/infiniband/hw/mlx5/umr.c mlx5r_umr_update_xlt() with MLX5_IB_UPD_XLT_ZAP.
 */
export function* mlx5r_umr_zap_xlt(dev: Mlx5IbDev): Co<0 | Errno> {
  return yield* mlx5r_umr_post_send_wait(dev, true);
}
