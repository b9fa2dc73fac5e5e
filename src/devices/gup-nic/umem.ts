/**
 * ib_umem: the RDMA core's pinned user memory of a classic MR. Registration charges RLIMIT_MEMLOCK
 * and takes a long-term DMA reference on every page (get_user_pages_longterm in 4.20,
 * pin_user_pages(FOLL_LONGTERM) from 5.7); no MMU notifier is registered, so the MR holds the pages
 * it got, not the VA mapping. Release drops every reference, dirtying the pages of a writable MR,
 * and uncharges.
 * Kernel: drivers/infiniband/core/umem.c ib_umem_get(), __ib_umem_release(), ib_umem_release().
 */
import type { Co } from '../../engine/actor.js';
import { EINVAL, ENOMEM, IS_ERR, type Errno } from '../../mm/errno.js';
import { get_user_pages_unlocked, gup_flags_for_era, unpin_user_pages_dirty_lock } from '../../mm/gup.js';
import type { Process } from '../../mm/kernel.js';
import type { DmaRef } from '../../mm/pin_registry.js';
import { PAGE_SIZE } from '../../mm/types.js';
import type { DeviceCtx } from '../device.js';

/** struct ib_umem: the pages of [page_start, page_start + npages pages) and the references held on them. */
export interface IbUmem {
  readonly proc: Process;
  /** page-aligned user address of the first page */
  readonly page_start: number;
  readonly npages: number;
  readonly writable: boolean;
  /** the long-term DMA references, page i of the umem at ref.pfns[i] */
  readonly ref: DmaRef;
}

/**
 * ib_umem_get() - charge RLIMIT_MEMLOCK for the pages of [@addr, @addr + @length) of @proc, then
 * take a long-term DMA reference on every one, for @ctx's device.
 * Context: may sleep; takes mmap_lock for read (through get_user_pages_unlocked()).
 * Return: the umem; EINVAL (length 0, or flags the era refuses); ENOMEM (over RLIMIT_MEMLOCK
 * without CAP_IPC_LOCK, or a page that will not leave ZONE_MOVABLE); GUP's EFAULT, EOPNOTSUPP.
 * Nothing is held or charged on failure.
 * Kernel: drivers/infiniband/core/umem.c ib_umem_get().
 */
export function* ib_umem_get(ctx: DeviceCtx, proc: Process, addr: number, length: number, access: 'r' | 'rw'): Co<IbUmem | Errno> {
  const k = ctx.k;
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
  const ref = yield* get_user_pages_unlocked(k, mm, page_start, npages, flags, ctx.name);
  if (IS_ERR(ref)) {
    mm.pinned_vm -= npages;
    return ref;
  }
  return { proc, page_start, npages, writable: access === 'rw', ref };
}

/**
 * ib_umem_release() - drop every page reference of @umem (set_page_dirty_lock first when the MR
 * was writable) and uncharge RLIMIT_MEMLOCK. Pairs with ib_umem_get().
 * Context: may sleep. Return: nothing (a release cannot fail).
 * Kernel: drivers/infiniband/core/umem.c ib_umem_release(), __ib_umem_release().
 */
export function* ib_umem_release(ctx: DeviceCtx, umem: IbUmem): Co {
  yield* unpin_user_pages_dirty_lock(ctx.k, umem.ref, umem.writable);
  umem.proc.mm.pinned_vm -= umem.npages;
}
