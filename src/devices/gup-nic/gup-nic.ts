/**
 * gup-nic: a classic RDMA memory region (ib_umem_get). Registration takes a long-term DMA reference
 * on every page after the RLIMIT_MEMLOCK charge (umem.ts), registers no MMU notifier, and the NIC's
 * MTT keeps the pfns it got (mr.ts): the MR pins pages, not the VA mapping. Deregistration releases
 * every page with dirty if the MR was writable. DMA walks the MR a page at a time over `dmaLatency`.
 * This file is the model's descriptor and the HCA executing DMA.
 * Kernel: drivers/infiniband/core/umem.c; drivers/infiniband/hw/mlx5/mr.c.
 */
import { delay, schedPoint, type Co } from '../../engine/actor.js';
import { PINSIM_BUG } from '../../engine/bug.js';
import { Hasher } from '../../engine/hash.js';
import { IS_ERR, type Errno } from '../../mm/errno.js';
import type { Process } from '../../mm/kernel.js';
import { PAGE_SIZE } from '../../mm/types.js';
import {
  COMMON_DEVICE_PARAMS, dma_iommu_fault, dma_transfer_page, numberParam, page_bytes, type DeviceCtx, type DeviceInstance,
  type DeviceModel, type DmaRequest, type DmaResult, type MemoryRegion,
} from '../device.js';
import { gup_nic_dereg_mr, gup_nic_reg_mr, type GupMr } from './mr.js';

/**
 * gup_nic_dma() - (pinsim-only) the HCA executes one DMA over @req's MR: n page accesses at t,
 * t+Δ, …, completing at t + @dmaLatency. A revoked MR's QP is in error (device-error); a
 * deregistered key, a range outside the MR or a write to a read-only MR is an access error; either
 * stops a transfer in flight at its next page.
 * Return: the completion status and the tokens read.
 */
function* gup_nic_dma(ctx: DeviceCtx, dmaLatency: number, req: DmaRequest): Co<DmaResult> {
  const k = ctx.k;
  const mr = req.mr as GupMr;
  const tokens: number[] = [];
  if (mr.revoked && !mr.deregistered) {
    // The QP is in the error state: the work request is flushed, nothing reaches memory.
    yield* delay(dmaLatency, 'gup-nic:dma_flushed');
    return { status: 'device-error', tokens };
  }
  if (mr.deregistered || req.offset + req.length > mr.length || (req.write && !mr.umem.writable)) {
    // The key is gone, the range is outside the MR, or it is not writable: an access error.
    yield* delay(dmaLatency, 'gup-nic:dma_error');
    return { status: 'remote-access-error', tokens };
  }
  const base = mr.start + req.offset;
  const first = Math.floor(base / PAGE_SIZE);
  const n = req.length === 0 ? 0 : Math.ceil((base + req.length) / PAGE_SIZE) - first;
  const step = n ? Math.floor(dmaLatency / n) : 0;
  k.emit({ type: 'dma_start', time: k.now, actor: ctx.name, wr: req.wr, op: req.write ? 'dma_write' : 'dma_read', device: ctx.name, length: req.length, pages: n, ns: dmaLatency });
  for (let i = 0; i < n; i++) {
    // Each page access is a point where the CPU side may run first.
    if (i === 0) yield* schedPoint('gup-nic:dma_page');
    else yield* delay(step, 'gup-nic:dma_page');
    // A QP moved to error flushes its work requests; a deregistered key stops the transfer.
    if (mr.revoked || mr.deregistered) {
      yield* delay(Math.max(0, dmaLatency - step * i), 'gup-nic:dma_aborted');
      return { status: mr.revoked ? 'device-error' : 'remote-access-error', tokens };
    }
    const x = mr.mtt.lookup(first + i) ?? PINSIM_BUG(`${ctx.name}: MR ${mr.name} has no MTT entry for page ${first + i}`);
    const seen = dma_transfer_page(ctx, x, req.write, req.token, req.wr, req.write ? 'dma_write' : 'dma_read', page_bytes(base, req.length, x.va));
    if (seen < 0) return { status: yield* dma_iommu_fault(ctx), tokens };
    tokens.push(seen);
  }
  yield* delay(dmaLatency - step * Math.max(n - 1, 0), 'gup-nic:dma_done');
  return { status: 'ok', tokens };
}

/** One gup-nic: its context and the MRs registered on it. */
class GupNic implements DeviceInstance {
  readonly ctx: DeviceCtx;
  readonly dmaLatency: number;
  readonly mrs: GupMr[] = [];

  constructor(ctx: DeviceCtx) {
    this.ctx = ctx;
    this.dmaLatency = numberParam(ctx, 'dmaLatency');
  }

  *reg_mr(proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string): Co<MemoryRegion | Errno> {
    const mr = yield* gup_nic_reg_mr(this.ctx, proc, addr, length, access, name);
    if (!IS_ERR(mr)) this.mrs.push(mr);
    return mr;
  }

  dereg_mr(m: MemoryRegion): Co<0 | Errno> {
    return gup_nic_dereg_mr(this.ctx, m as GupMr);
  }

  dma(req: DmaRequest): Co<DmaResult> {
    return gup_nic_dma(this.ctx, this.dmaLatency, req);
  }

  /** The process exits: uverbs fd close releases its MRs, after exit_mm. */
  *release_process(proc: Process): Co {
    for (const mr of this.mrs) if (mr.proc === proc && !mr.deregistered) yield* gup_nic_dereg_mr(this.ctx, mr);
  }

  fingerprint(fromScratch?: boolean): number {
    const h = new Hasher();
    for (const mr of this.mrs) {
      h.add(mr.deregistered ? 1 : 0).add(mr.revoked ? 1 : 0);
      mr.mtt.fingerprint(h, fromScratch);
    }
    return h.value;
  }

  /** No MR, as create() made it (its kernel is reset, the context's PRNG and IOMMU domain by the caller). */
  reset(): void {
    this.mrs.length = 0;
  }
}

function create(ctx: DeviceCtx): DeviceInstance {
  return new GupNic(ctx);
}

export const gup_nic: DeviceModel = {
  name: 'gup-nic',
  description: 'classic RDMA MR (ib_umem_get): long-term DMA reference, ignores notifiers, releases with dirty at dereg',
  params: {
    dmaLatency: { kind: 'time', default: 1000, doc: 'time from posting a DMA to its completion (default 1 µs)' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['reg_mr', 'dereg_mr', 'dma_read', 'dma_write'],
  create,
};
