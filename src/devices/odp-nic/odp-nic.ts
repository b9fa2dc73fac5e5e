/**
 * odp-nic: an mlx5 On-Demand-Paging NIC. An MR holds no page reference in any era: registration
 * inserts an mmu_interval_notifier over the MR and maps only the pages already present (odp.ts);
 * a DMA that reaches a page its MTT lacks takes a device page fault: read_begin → hmm_range_fault
 * (asking write access whenever the MR is writable) → `faultLatency` → umem_mutex → read_retry →
 * the DMA mapping and a UMR programming the MTTs (`invalidateLatency`, under umem_mutex) (umem_odp.ts,
 * umr.ts); a fault that cannot be satisfied completes the DMA with remote-access-error. The
 * invalidation refuses non-blockable ranges, else zaps the range's MTTs with a UMR
 * (`invalidateLatency`) and unmaps its pages, dirtying the writable ones. UMR failures and what a
 * failed zap leaves behind (`afterZapFailure`) are modelled in umr.ts and odp.ts.
 * This file is the model's descriptor, its memory registration and the HCA executing DMA.
 * Kernel: drivers/infiniband/hw/mlx5/mr.c mlx5_ib_reg_user_mr(), mlx5_ib_dereg_mr(); odp.c.
 * Simplified: one fault round covers the rest of the DMA (mlx5 faults the WQE's whole data segment).
 */
import { delay, schedPoint, type Co } from '../../engine/actor.js';
import { WaitQueueHead, wait_event } from '../../engine/waitqueue.js';
import { Hasher } from '../../engine/hash.js';
import { EINVAL, IS_ERR, type Errno } from '../../mm/errno.js';
import type { Kernel, Process } from '../../mm/kernel.js';
import { PAGE_SIZE } from '../../mm/types.js';
import {
  COMMON_DEVICE_PARAMS, dma_iommu_fault, dma_transfer_page, page_bytes, type DeviceCtx, type DeviceInstance, type DeviceModel,
  type DmaRequest, type DmaResult, type DmaStatus, type MemoryRegion, type RegMrFlags,
} from '../device.js';
import { Mlx5IbDev, type OdpMr } from './mlx5_ib.js';
import { mlx5_ib_advise_mr_prefetch, mlx5_ib_init_odp_mr, mlx5_ib_mr_pagefault, mlx5_ib_mr_umem } from './odp.js';
import { ib_umem_odp_release } from './umem_odp.js';

/**
 * mlx5_ib_reg_user_mr() - register an ODP MR over [@addr, @addr + @length) of @proc (the whole
 * address space with `implicit`, whose children appear on first fault).
 * Context: may sleep (the registration snapshot).
 * Return: the MR; EINVAL (length 0 on an explicit MR, the mm is gone, IB_ACCESS_HUGETLB on an
 * implicit MR or, before 5.10, on memory whose VMA is not hugetlb); the snapshot's errno.
 * Kernel: drivers/infiniband/hw/mlx5/mr.c mlx5_ib_reg_user_mr() → create_user_odp_mr().
 */
function* mlx5_ib_reg_user_mr(dev: Mlx5IbDev, proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string, flags: RegMrFlags = {}): Co<MemoryRegion | Errno> {
  const implicit = dev.p.implicit;
  if (length === 0 && !implicit) return EINVAL;
  const hugetlb = flags.hugetlb === true;
  // ib_umem_odp_alloc_implicit() refuses IB_ACCESS_HUGETLB.
  if (implicit && hugetlb) return EINVAL;
  const mr: OdpMr = {
    device: dev.ctx.name, length, name, proc, start: addr, writable: access === 'rw', implicit, hugetlb, children: new Map(),
    deregistered: false, usecount: 0, mkey_wait: new WaitQueueHead(`${dev.ctx.name}.${name}.mkey`),
  };
  if (!implicit) {
    const start = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE, end = Math.ceil((addr + length) / PAGE_SIZE) * PAGE_SIZE;
    const ret = yield* mlx5_ib_init_odp_mr(dev, mr, start, end);
    if (ret) return ret;
  }
  dev.mrs.push(mr);
  return mr;
}

/**
 * mlx5_ib_dereg_mr() - take the mkey out of odp_mkeys (no new page fault or prefetch finds it, and
 * the HCA's later accesses through it fail), wait until the faults and prefetches already working
 * on the MR are done, then destroy the mkey and release every umem (its notifier removed, its pages
 * unmapped). A fault in flight thus finishes under the MR's notifier, which still sees a munmap in
 * its fault latency; without the fence it would install a snapshot that no notifier guards.
 * Context: may sleep (the fence, the umem release). Return: 0, or EINVAL for an MR already
 * deregistered.
 * Kernel: drivers/infiniband/hw/mlx5/mr.c mlx5_ib_dereg_mr() (xa_erase(odp_mkeys),
 * mlx5r_deref_wait_odp_mkey(), the mkey destroyed) → ib_umem_odp_release().
 */
function* mlx5_ib_dereg_mr(mr: OdpMr): Co<0 | Errno> {
  if (mr.deregistered) return EINVAL;
  mr.deregistered = true;
  // mlx5r_deref_wait_odp_mkey(): faults and prefetches already holding the mkey finish first.
  yield* wait_event(mr.mkey_wait, () => mr.usecount === 0, 'odp:dereg_wait_mkey');
  for (const umem of mr.children.values()) yield* ib_umem_odp_release(umem);
  return 0;
}

/**
 * odp_access_page() - (pinsim-only) the HCA accesses the page at @va for @req, taking a device
 * page fault over [va, @end) first when its MTT has no usable entry (counted in @faults).
 * Return: the token seen, or the status the whole DMA completes with.
 */
function* odp_access_page(dev: Mlx5IbDev, mr: OdpMr, va: number, end: number, req: DmaRequest, faults: { n: number }, base: number): Co<DmaStatus | number> {
  for (;;) {
    if (dev.dead) return 'device-error';
    // The mkey was destroyed (dereg): the HCA's access through it fails.
    if (mr.deregistered) return 'remote-access-error';
    const umem = mlx5_ib_mr_umem(dev, mr, va);
    if (IS_ERR(umem)) return 'remote-access-error';
    const x = umem.table.lookup(va / PAGE_SIZE);
    if (x && (!req.write || x.write)) {
      const seen = dma_transfer_page(dev.ctx, x, req.write, req.token, req.wr, req.write ? 'dma_write' : 'dma_read', page_bytes(base, req.length, va));
      return seen < 0 ? yield* dma_iommu_fault(dev.ctx) : seen;
    }
    // A device page fault: the requester stalls while the driver resolves it.
    faults.n++;
    // pagefault_real_mr() asks for write access whenever the MR is writable, whatever the access.
    const ret = yield* mlx5_ib_mr_pagefault(dev, mr, umem, va, Math.min(end, umem.end), mr.writable, true);
    if (ret) return dev.dead ? 'device-error' : 'remote-access-error';
  }
}

/** (pinsim-only) A DMA completes with @status, no earlier than @due. */
function* odp_dma_done(k: Kernel, due: number, tokens: number[], status: DmaStatus): Co<DmaResult> {
  if (k.now < due) yield* delay(due - k.now, 'odp:dma_done');
  return { status, tokens };
}

/**
 * odp_dma() - (pinsim-only) the HCA executes one DMA over @req's MR: a page at a time over
 * `dmaLatency`, completing no earlier than `dmaLatency` after it was posted.
 * Return: the completion status and the tokens read.
 */
function* odp_dma(dev: Mlx5IbDev, req: DmaRequest): Co<DmaResult> {
  const k = dev.ctx.k;
  const mr = req.mr as OdpMr;
  const dmaLatency = dev.p.dmaLatency;
  const t0 = k.now;
  const tokens: number[] = [];
  if (dev.dead) return yield* odp_dma_done(k, t0 + dmaLatency, tokens, 'device-error');
  const base = mr.implicit ? req.offset : mr.start + req.offset;
  if (mr.deregistered || (!mr.implicit && req.offset + req.length > mr.length) || (req.write && !mr.writable)) {
    return yield* odp_dma_done(k, t0 + dmaLatency, tokens, 'remote-access-error');
  }
  const first = Math.floor(base / PAGE_SIZE), n = req.length === 0 ? 0 : Math.ceil((base + req.length) / PAGE_SIZE) - first;
  const step = n ? Math.floor(dmaLatency / n) : 0;
  const end = (first + n) * PAGE_SIZE;
  k.emit({ type: 'dma_start', time: k.now, actor: dev.ctx.name, wr: req.wr, op: req.write ? 'dma_write' : 'dma_read', device: dev.ctx.name, length: req.length, pages: n, ns: dmaLatency });
  const faults = { n: 0 };
  for (let i = 0; i < n; i++) {
    // Each page access is a point where the CPU side may run first.
    if (i === 0) yield* schedPoint('odp:dma_page');
    else yield* delay(step, 'odp:dma_page');
    const r = yield* odp_access_page(dev, mr, (first + i) * PAGE_SIZE, end, req, faults, base);
    if (typeof r === 'string') return yield* odp_dma_done(k, t0 + dmaLatency, tokens, r);
    tokens.push(r);
  }
  return yield* odp_dma_done(k, t0 + dmaLatency, tokens, 'ok');
}

/** The device's state for the explorer's state cache: dead/broken, and each umem's seq, MTTs and stale entries. */
function odp_fingerprint(dev: Mlx5IbDev, fromScratch = false): number {
  const h = new Hasher().add(dev.dead ? 1 : 0).add(dev.umr_broken ? 1 : 0);
  for (const mr of dev.mrs) {
    h.add(mr.deregistered ? 1 : 0).add(mr.usecount);
    for (const umem of mr.children.values()) {
      h.add(umem.start).add(umem.notifier.invalidate_seq);
      umem.table.fingerprint(h, fromScratch);
      // MTT entries the driver forgot after a failed zap (only when there are any).
      if (umem.stale.size) for (const v of [...umem.stale].sort((a, b) => a - b)) h.add(v);
    }
  }
  return h.value;
}

/** One odp-nic: the mlx5 device behind it. */
class OdpNic implements DeviceInstance {
  readonly dev: Mlx5IbDev;

  constructor(ctx: DeviceCtx) {
    this.dev = new Mlx5IbDev(ctx);
  }

  reg_mr(proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string, flags?: RegMrFlags): Co<MemoryRegion | Errno> {
    return mlx5_ib_reg_user_mr(this.dev, proc, addr, length, access, name, flags);
  }

  dereg_mr(m: MemoryRegion): Co<0 | Errno> {
    return mlx5_ib_dereg_mr(m as OdpMr);
  }

  dma(req: DmaRequest): Co<DmaResult> {
    return odp_dma(this.dev, req);
  }

  advise_mr(m: MemoryRegion, advice: 'prefetch' | 'prefetch_write' | 'prefetch_no_fault', offset: number, length: number): Co<0 | Errno> {
    return mlx5_ib_advise_mr_prefetch(this.dev, m as OdpMr, advice, offset, length);
  }

  /** The uverbs fd closes when the process exits: its MRs are deregistered. */
  *release_process(proc: Process): Co {
    for (const mr of this.dev.mrs) if (mr.proc === proc && !mr.deregistered) yield* mlx5_ib_dereg_mr(mr);
  }

  fingerprint(fromScratch?: boolean): number {
    return odp_fingerprint(this.dev, fromScratch);
  }

  /** As create() made it (its kernel is reset, the context's PRNG and IOMMU domain by the caller). */
  reset(): void {
    this.dev.reset();
  }
}

function create(ctx: DeviceCtx): DeviceInstance {
  return new OdpNic(ctx);
}

export const odp_nic: DeviceModel = {
  name: 'odp-nic',
  description: 'mlx5 ODP: interval notifier per MR, device page faults via hmm_range_fault with read_begin/read_retry, synchronous UMR zap in invalidate, no page references',
  params: {
    dmaLatency: { kind: 'time', default: 1000, doc: 'post → completion of a DMA without faults (1 µs)' },
    faultLatency: { kind: 'time', default: 100_000, doc: 'device page fault: between the hmm_range_fault snapshot and taking umem_mutex (hundreds of µs to ms; pinsim picks 100 µs)' },
    invalidateLatency: { kind: 'time', default: 10_000, doc: 'one UMR round trip: the zap in invalidate, and the MTT programming of a fault under umem_mutex (5–50 µs; pinsim picks 10 µs)' },
    umrFailure: { kind: 'enum', values: ['none', 'alloc', 'completion'], default: 'none', doc: 'alloc: emergency XLT page (slower, serialised, never fails); completion: the zap UMR completes in error and the era\'s recovery flow runs' },
    umrRecovery: { kind: 'enum', values: ['ok', 'fails'], default: 'ok', doc: 'from 6.0: whether mlx5r_umr_recover() brings the UMR QP back (fails: UMR state ERR, every later UMR fails, fault installs included); before 6.0 there is no recovery and the QP stays in error' },
    afterZapFailure: { kind: 'enum', values: ['stale', 'fatal'], default: 'stale', doc: 'stale: what the driver\'s code does (the failed zap is ignored, the DMA addresses unmapped, the MTT keeps the old translation and the device can go on DMAing through it); fatal: an assumed hardware guarantee, the device stops all DMA (later DMA completes device-error)' },
    unsafeIgnoreZapFailure: {
      kind: 'bool', default: false, doc: 'deprecated: true is afterZapFailure "stale", false "fatal"',
      deprecated: { param: 'afterZapFailure', value: (v) => (v === true ? 'stale' : 'fatal'), note: 'unsafeIgnoreZapFailure is deprecated: read as afterZapFailure' },
    },
    implicit: { kind: 'bool', default: false, doc: 'implicit ODP: reg_mr covers the whole address space; DMA offsets are virtual addresses; 1 GiB children on first fault' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['reg_mr', 'dereg_mr', 'dma_read', 'dma_write', 'advise_mr'],
  // After a failed zap mlx5_ib_invalidate_range() ignores the error and unmaps the DMA addresses;
  // nothing stops the device: a device that stops all DMA is an assumption about the hardware.
  hypothetical: (p) => (p['umrFailure'] === 'completion' && p['afterZapFailure'] === 'fatal'
    ? 'stops all DMA after a failed zap UMR, which no driver code makes it do (mlx5 ignores the failure)'
    : null),
  create,
};
