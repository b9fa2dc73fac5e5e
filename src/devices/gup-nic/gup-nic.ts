/**
 * gup-nic: a classic RDMA memory region (ib_umem_get). Registration takes a long-term DMA reference
 * on every page (get_user_pages_longterm in 4.20, pin_user_pages(FOLL_LONGTERM) from 5.7) after the
 * RLIMIT_MEMLOCK charge, registers no MMU notifier, and the NIC's MTT keeps the pfns it got: the MR
 * pins pages, not the VA mapping (ib_umem_get()). Deregistration releases every page with
 * dirty if the MR was writable. DMA walks the MR a page at a time over `dmaLatency`.
 * Kernel: drivers/infiniband/core/umem.c ib_umem_get(), __ib_umem_release().
 */
import { delay, schedPoint, type Co } from '../../engine/actor.js';
import { Hasher } from '../../engine/hash.js';
import { EINVAL, ENOMEM, IS_ERR, type Errno } from '../../mm/errno.js';
import { get_user_pages_locked, gup_flags_for_era, gup_put_folio, unpin_user_pages_dirty_lock } from '../../mm/gup.js';
import type { Process } from '../../mm/kernel.js';
import type { DmaRef, PinOwnerOps } from '../../mm/pin_registry.js';
import { PAGE_SIZE } from '../../mm/types.js';
import {
  COMMON_DEVICE_PARAMS, dma_iommu_fault, dma_map_translation, dma_transfer_page, dma_unmap_translation, page_bytes, type DeviceCtx, type DeviceInstance, type DeviceModel, type DmaRequest, type DmaResult,
  type MemoryRegion, type Translation,
} from '../device.js';

/** struct ib_umem + the MR's MTT, as the NIC sees it. */
interface GupMr extends MemoryRegion {
  name: string;
  proc: Process;
  /** user address of the MR's first byte */
  start: number;
  /** page-aligned user address of the first page */
  page_start: number;
  npages: number;
  writable: boolean;
  ref: DmaRef;
  /** The MTT: one translation per page, fixed at registration. */
  mtt: Translation[];
  deregistered: boolean;
  /** Revoked by a policy: its QP is in error, its references dropped; DMA completes device-error. */
  revoked: boolean;
}

function create(ctx: DeviceCtx): DeviceInstance {
  const k = ctx.k;
  const dmaLatency = ctx.params['dmaLatency'] as number;
  const mrs: GupMr[] = [];

  /** ib_umem_get() - charge RLIMIT_MEMLOCK, then take long-term references on every page. */
  function* reg_mr(proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string): Co<MemoryRegion | Errno> {
    if (length === 0) return EINVAL;
    const mm = proc.mm;
    const page_start = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const npages = Math.ceil((addr + length) / PAGE_SIZE) - page_start / PAGE_SIZE;
    if (!proc.capIpcLock && (mm.pinned_vm + npages) * PAGE_SIZE > proc.memlock) return ENOMEM;
    mm.pinned_vm += npages;
    // 4.15–6.1 ask FOLL_WRITE always (FOLL_FORCE for a read-only MR) to break COW; 6.2+ only for rw.
    const write = access === 'rw' || k.features.umem_force_write;
    const force = access === 'r' && k.features.umem_force_write;
    const flags = gup_flags_for_era(k, false, true, true, write, force);
    if (IS_ERR(flags)) {
      mm.pinned_vm -= npages;
      return flags;
    }
    const ref = yield* get_user_pages_locked(k, mm, page_start, npages, flags, ctx.name);
    if (IS_ERR(ref)) {
      mm.pinned_vm -= npages;
      return ref;
    }
    // DMA-map the pages (through the IOMMU when the device has one) and program the MTT.
    const mtt: Translation[] = ref.pfns.map((pfn, i) => dma_map_translation(ctx, pfn, mm.owner, page_start + i * PAGE_SIZE));
    const mr: GupMr = {
      device: ctx.name, length, name, proc, start: addr, page_start, npages, writable: access === 'rw', ref, mtt, deregistered: false,
      revoked: false,
    };
    ref.ops = pin_owner_ops(mr);
    mrs.push(mr);
    return mr;
  }

  /**
   * The PinOwnerOps this MR registers with its long-term references: what the 2018 proposals may do
   * to it. None of these exists in a real kernel; they are the designs argued.
   */
  function pin_owner_ops(mr: GupMr): PinOwnerOps {
    return {
      has_iommu: ctx.iommu !== null,
      // Jason Gunthorpe's "forcibly terminate": the QP goes to error, the references are dropped.
      *revoke() {
        if (mr.revoked || mr.deregistered) return;
        mr.revoked = true;
        k.emit({ type: 'mr_revoked', time: k.now, actor: ctx.name, device: ctx.name, mr: mr.name });
        yield* unpin_user_pages_dirty_lock(k, mr.ref, mr.writable);
      },
      // Jérôme Glisse's S2: reprogram the HCA to the dummy page and let the real page go.
      *redirect_to_dummy(_ref, pfn, dummy_pfn) {
        mr.mtt.forEach((x, i) => {
          if (x.pfn !== pfn) return;
          dma_unmap_translation(ctx, x);
          mr.mtt[i] = dma_map_translation(ctx, dummy_pfn, x.mm, x.va);
          k.emit({ type: 'dummy_redirect', time: k.now, actor: ctx.name, device: ctx.name, pfn, dummy: dummy_pfn, mm: x.mm, va: x.va });
          gup_put_folio(k, mr.ref, i, false);
        });
        yield* delay(0, 'gup-nic:mtt_reprogrammed');
      },
      *lease_break(_ref, inode) {
        return k.leases.break_lease(inode, mr.proc.name);
      },
      *iommu_unmap(_ref, pfns) {
        for (const x of mr.mtt) if (pfns.includes(x.pfn)) dma_unmap_translation(ctx, x);
        yield* delay(0, 'gup-nic:iotlb_invalidated');
      },
    };
  }

  /** __ib_umem_release() - DMA-unmap, release every page (dirty if writable), uncharge memlock. */
  function* dereg_mr(m: MemoryRegion): Co<0 | Errno> {
    const mr = m as GupMr;
    if (mr.deregistered) return EINVAL;
    mr.deregistered = true;
    for (const x of mr.mtt) dma_unmap_translation(ctx, x);
    yield* unpin_user_pages_dirty_lock(k, mr.ref, mr.writable);
    mr.proc.mm.pinned_vm -= mr.npages;
    return 0;
  }

  /** A DMA over the MR: n page accesses at t, t+Δ, …; completion at t + dmaLatency. */
  function* dma(req: DmaRequest): Co<DmaResult> {
    const mr = req.mr as GupMr;
    const tokens: number[] = [];
    if (mr.revoked && !mr.deregistered) {
      // The QP is in the error state: the work request is flushed, nothing reaches memory.
      yield* delay(dmaLatency, 'gup-nic:dma_flushed');
      return { status: 'device-error', tokens };
    }
    if (mr.deregistered || req.offset + req.length > mr.length || (req.write && !mr.writable)) {
      // The key is gone, the range is outside the MR, or it is not writable: an access error.
      yield* delay(dmaLatency, 'gup-nic:dma_error');
      return { status: 'remote-access-error', tokens };
    }
    const base = mr.start + req.offset;
    const first = Math.floor(base / PAGE_SIZE) - mr.page_start / PAGE_SIZE;
    const n = req.length === 0 ? 0 : Math.ceil((base + req.length) / PAGE_SIZE) - Math.floor(base / PAGE_SIZE);
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
      const x = mr.mtt[first + i] as Translation;
      const seen = dma_transfer_page(ctx, x, req.write, req.token, req.wr, req.write ? 'dma_write' : 'dma_read', page_bytes(base, req.length, x.va));
      if (seen < 0) return { status: yield* dma_iommu_fault(ctx), tokens };
      tokens.push(seen);
    }
    yield* delay(dmaLatency - step * Math.max(n - 1, 0), 'gup-nic:dma_done');
    return { status: 'ok', tokens };
  }

  /** The process exits: uverbs fd close releases its MRs (exit_files() after exit_mm()). */
  function* release_process(proc: Process): Co {
    for (const mr of mrs) if (mr.proc === proc && !mr.deregistered) yield* dereg_mr(mr);
  }

  function fingerprint(): number {
    const h = new Hasher();
    for (const mr of mrs) {
      h.add(mr.deregistered ? 1 : 0).add(mr.revoked ? 1 : 0);
      for (const x of mr.mtt) h.add(x.pfn).add(x.gen).add(x.iova);
    }
    return h.value;
  }

  return { reg_mr, dereg_mr, dma, release_process, fingerprint };
}

export const gup_nic: DeviceModel = {
  name: 'gup-nic',
  description: 'classic RDMA MR (ib_umem_get): long-term DMA reference, ignores notifiers, releases with dirty at dereg',
  params: {
    dmaLatency: { kind: 'time', default: 1000, doc: 'time from posting a DMA to its completion' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['reg_mr', 'dereg_mr', 'dma_read', 'dma_write'],
  create,
};
