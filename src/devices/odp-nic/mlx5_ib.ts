/**
 * The ODP NIC's device state, as mlx5_ib keeps it: the device (its parameters, its MRs, whether it
 * is dead), the UMR QP's state and the one emergency XLT page, and an ODP MR with its umems (one,
 * or a 1 GiB child per slot for an implicit MR).
 * Kernel: drivers/infiniband/hw/mlx5/mlx5_ib.h struct mlx5_ib_dev, struct mlx5_ib_mr, struct
 * umr_common; drivers/infiniband/hw/mlx5/odp.c (MLX5_IMR_MTT_SIZE).
 */
import { WaitQueueHead } from '../../engine/waitqueue.js';
import type { Process } from '../../mm/kernel.js';
import { Mutex } from '../../mm/locking.js';
import { boolParam, numberParam, stringParam, type DeviceCtx, type MemoryRegion } from '../device.js';
import { ib_umem_odp_unmap_dma_pages, umem_hw_erase_stale, type IbUmemOdp } from './umem_odp.js';

/** MLX5_IMR_MTT_SIZE: each child of an implicit ODP MR covers 1 GiB. */
export const MLX5_IMR_MTT_SIZE = 1024 ** 3;

/** The model's parameters, read once (see odp_nic.params for their meaning). */
export interface OdpParams {
  readonly dmaLatency: number;
  readonly faultLatency: number;
  readonly invalidateLatency: number;
  readonly umrFailure: string;
  /** 'ok': mlx5r_umr_recover() resets the UMR QP (6.0+); 'fails': the reset fails, state ERR. */
  readonly umrRecovery: string;
  /** 'stale': what the driver's code does after a failed zap; 'fatal': the device stops all DMA. */
  readonly afterZapFailure: string;
  readonly implicit: boolean;
}

/**
 * struct mlx5_ib_mr of an ODP MR: its umems by 1 GiB slot (slot 0 alone when not implicit), and
 * its mkey's use count: a page fault or a prefetch takes the mkey (found in odp_mkeys) for as long
 * as it works on the MR, and dereg erases the mkey from odp_mkeys and waits for the count to drain
 * before it destroys the mkey and releases the umems.
 */
export interface OdpMr extends MemoryRegion {
  readonly name: string;
  readonly proc: Process;
  /** The user address the MR starts at (0 for an implicit MR, whose offsets are addresses). */
  readonly start: number;
  readonly writable: boolean;
  readonly implicit: boolean;
  /** Registered with IB_ACCESS_HUGETLB: huge MTT entries. */
  readonly hugetlb: boolean;
  readonly children: Map<number, IbUmemOdp>;
  /** The mkey is gone from odp_mkeys (dereg began): no new fault finds it, the HW access fails. */
  deregistered: boolean;
  /** mmkey.usecount less its initial reference: faults and prefetches working on the MR now. */
  usecount: number;
  /** mmkey.wait: dereg sleeps here until usecount drains. */
  readonly mkey_wait: WaitQueueHead;
}

/** struct mlx5_ib_dev, as far as ODP goes. */
export class Mlx5IbDev {
  readonly ctx: DeviceCtx;
  readonly p: OdpParams;
  readonly mrs: OdpMr[] = [];
  /** The device is in internal error: it maps nothing and never DMAs again. */
  dead = false;
  /**
   * Every later UMR fails: the UMR QP is in the error state (no recovery flow before 6.0) or
   * umrc.state == MLX5_UMR_STATE_ERR (mlx5r_umr_recover() failed, 6.0+).
   */
  umr_broken = false;
  /** The global emergency XLT page and its mutex (umrFailure "alloc"). */
  readonly xlt_emergency_page_mutex: Mutex;

  constructor(ctx: DeviceCtx) {
    this.ctx = ctx;
    this.p = {
      dmaLatency: numberParam(ctx, 'dmaLatency'), faultLatency: numberParam(ctx, 'faultLatency'),
      invalidateLatency: numberParam(ctx, 'invalidateLatency'), umrFailure: stringParam(ctx, 'umrFailure'),
      umrRecovery: stringParam(ctx, 'umrRecovery'), afterZapFailure: stringParam(ctx, 'afterZapFailure'),
      implicit: boolParam(ctx, 'implicit'),
    };
    this.xlt_emergency_page_mutex = new Mutex(`${ctx.name}.xlt_emergency_page`);
  }

  /** reset() - no MR, alive, its UMR QP working, as new (a machine reused by the next execution). */
  reset(): void {
    this.mrs.length = 0;
    this.dead = false;
    this.umr_broken = false;
    this.xlt_emergency_page_mutex.reset();
  }
}

/**
 * mlx5_ib_dev_dead() - (pinsim-only name) the device is declared dead (afterZapFailure "fatal": an
 * assumed hardware guarantee after a failed zap, which no driver code gives): traced as
 * `device_dead`, and every translation of every MR goes at once, without dirtying (a dead device's
 * writes are not trusted). Context: any; takes no lock (the device is gone, nothing can race it for
 * its tables). Return: nothing.
 * Kernel: none; it stands for drivers/net/ethernet/mellanox/mlx5/core/health.c
 * mlx5_enter_error_state(), which only a device's own health failure runs.
 */
export function mlx5_ib_dev_dead(dev: Mlx5IbDev, reason: string): void {
  const k = dev.ctx.k;
  dev.dead = true;
  k.emit({ type: 'device_dead', time: k.now, actor: dev.ctx.name, device: dev.ctx.name, reason });
  for (const mr of dev.mrs) {
    for (const umem of mr.children.values()) {
      ib_umem_odp_unmap_dma_pages(umem, 0, Infinity, false);
      umem_hw_erase_stale(umem);
    }
  }
}
