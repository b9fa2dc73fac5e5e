/**
 * A classic MR as the NIC holds it: the umem's pages DMA-mapped (through the IOMMU when the device
 * has one) and programmed into the MTT once, at registration; the MTT keeps those pfns whatever
 * the process does to its mappings afterwards. The MR registers PinOwnerOps with its long-term
 * references: what the 2018 proposals may do to it (none exists in a real kernel).
 * Kernel: drivers/infiniband/hw/mlx5/mr.c mlx5_ib_reg_user_mr() → ib_umem_get() + the MTT
 * (mlx5_ib_update_mr_pas()), mlx5_ib_dereg_mr() → ib_umem_release().
 */
import { delay, type Co } from '../../engine/actor.js';
import { IS_ERR, EINVAL, type Errno } from '../../mm/errno.js';
import { gup_put_folio, unpin_user_pages_dirty_lock } from '../../mm/gup.js';
import type { Process } from '../../mm/kernel.js';
import type { PinOwnerOps } from '../../mm/pin_registry.js';
import { PAGE_SIZE } from '../../mm/types.js';
import { dma_unmap_translation, TranslationTable, type DeviceCtx, type MemoryRegion } from '../device.js';
import { ib_umem_get, ib_umem_release, type IbUmem } from './umem.js';

/** struct mlx5_ib_mr of a classic MR, with its MTT. */
export interface GupMr extends MemoryRegion {
  readonly name: string;
  readonly proc: Process;
  /** user address of the MR's first byte */
  readonly start: number;
  readonly umem: IbUmem;
  /** The MTT: one translation per page, programmed at registration (a reverse map finds a pfn's). */
  readonly mtt: TranslationTable;
  deregistered: boolean;
  /** Revoked by a policy: its QP is in error, its references dropped; DMA completes device-error. */
  revoked: boolean;
}

/** The MTT index (the umem's page number) of page index @vpn. */
function mtt_index(mr: GupMr, vpn: number): number {
  return vpn - mr.umem.page_start / PAGE_SIZE;
}

/**
 * gup_nic_reg_mr() - (pinsim-only name) pin the pages (ib_umem_get), DMA-map each and program the
 * MTT, and register the MR's PinOwnerOps with its references.
 * Context: may sleep. Return: the MR, or ib_umem_get()'s errno.
 * Kernel: drivers/infiniband/hw/mlx5/mr.c mlx5_ib_reg_user_mr().
 */
export function* gup_nic_reg_mr(ctx: DeviceCtx, proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string): Co<GupMr | Errno> {
  const umem = yield* ib_umem_get(ctx, proc, addr, length, access);
  if (IS_ERR(umem)) return umem;
  // The MTT is not a translation the notifier checkers follow: a classic MR registers none.
  const mtt = new TranslationTable(ctx, proc.mm.owner, { traced: false, rmap: true });
  umem.ref.pfns.forEach((pfn, i) => mtt.insert(umem.page_start / PAGE_SIZE + i, pfn, umem.writable, 0));
  const mr: GupMr = { device: ctx.name, length, name, proc, start: addr, umem, mtt, deregistered: false, revoked: false };
  umem.ref.ops = gup_nic_pin_owner_ops(ctx, mr);
  return mr;
}

/**
 * gup_nic_dereg_mr() - (pinsim-only name) DMA-unmap the MTT, then release the umem (every page,
 * dirty if the MR was writable; memlock uncharged). The MTT keeps its stale entries: nothing
 * reaches memory through a deregistered key.
 * Context: may sleep. Return: 0, or EINVAL for an MR already deregistered.
 * Kernel: drivers/infiniband/hw/mlx5/mr.c mlx5_ib_dereg_mr() → ib_umem_release().
 */
export function* gup_nic_dereg_mr(ctx: DeviceCtx, mr: GupMr): Co<0 | Errno> {
  if (mr.deregistered) return EINVAL;
  mr.deregistered = true;
  mr.mtt.walk(0, Infinity, (vpn) => {
    const x = mr.mtt.lookup(vpn);
    if (x) dma_unmap_translation(ctx, x);
  });
  yield* ib_umem_release(ctx, mr.umem);
  return 0;
}

/**
 * gup_nic_pin_owner_ops() - (pinsim-only) what the 2018 proposals may do to @mr through its
 * long-term references. Each finds the MTT entries of a page through the reverse map, so it costs
 * the entries it changes, never the MR's size.
 */
function gup_nic_pin_owner_ops(ctx: DeviceCtx, mr: GupMr): PinOwnerOps {
  const k = ctx.k;
  return {
    has_iommu: ctx.iommu !== null,
    // Jason Gunthorpe's "forcibly terminate": the QP goes to error, the references are dropped.
    *revoke() {
      if (mr.revoked || mr.deregistered) return;
      mr.revoked = true;
      k.emit({ type: 'mr_revoked', time: k.now, actor: ctx.name, device: ctx.name, mr: mr.name });
      yield* unpin_user_pages_dirty_lock(k, mr.umem.ref, mr.umem.writable);
    },
    // Jérôme Glisse's S2: reprogram the HCA to the dummy page and let the real page go.
    *redirect_to_dummy(_ref, pfn, dummy_pfn) {
      mr.mtt.walkPfn(pfn, (vpn) => {
        mr.mtt.erase(vpn);
        mr.mtt.insert(vpn, dummy_pfn, mr.umem.writable, 0);
        k.emit({ type: 'dummy_redirect', time: k.now, actor: ctx.name, device: ctx.name, pfn, dummy: dummy_pfn, mm: mr.mtt.mm, va: vpn * PAGE_SIZE });
        gup_put_folio(k, mr.umem.ref, mtt_index(mr, vpn), false);
      });
      yield* delay(0, 'gup-nic:mtt_reprogrammed');
    },
    *lease_break(_ref, inode) {
      return k.leases.break_lease(inode, mr.proc.name);
    },
    // The IOMMU stops translating the pages' IOVAs; the MTT still holds them, so DMA faults there.
    *iommu_unmap(_ref, pfns) {
      for (const pfn of pfns) {
        mr.mtt.walkPfn(pfn, (vpn) => {
          const x = mr.mtt.lookup(vpn);
          if (x) dma_unmap_translation(ctx, x);
        });
      }
      yield* delay(0, 'gup-nic:iotlb_invalidated');
    },
  };
}
