/**
 * odp-nic: an mlx5 On-Demand-Paging NIC. An MR holds no page reference in any era (umem_odp
 * keeps pfns, not pages, since hmm_range_fault): registration inserts an mmu_interval_notifier over the MR and maps only the
 * pages already present (a snapshot). A DMA that reaches an unmapped page takes a device page
 * fault, resolved after `faultLatency` through read_begin → hmm_range_fault → umem_mutex →
 * read_retry → install; a fault that cannot be satisfied completes the DMA with
 * remote-access-error. `invalidate` refuses non-blockable ranges, else takes umem_mutex, sets the
 * seq, zaps the MTTs with a UMR (`invalidateLatency`) and unmaps, dirtying writable pages.
 * Failure knobs: umrFailure "alloc" (the emergency XLT page: slower, serialised, never fails),
 * "completion" (the zap UMR fails and recovery fails: the device is declared dead), and
 * unsafeIgnoreZapFailure (the thread's what-if: not dead, translations kept, DMA goes on).
 * Kernel: drivers/infiniband/core/umem_odp.c; drivers/infiniband/hw/mlx5/odp.c
 * (pagefault_real_mr, mlx5_ib_invalidate_range, mlx5_ib_advise_mr_prefetch), umr.c.
 * Simplified: one fault round covers the rest of the DMA; implicit children are 1 GiB slots.
 */
import { delay, schedPoint, type Co } from '../../engine/actor.js';
import { Hasher } from '../../engine/hash.js';
import { EBUSY, EFAULT, EINVAL, EPERM, IS_ERR, type Errno } from '../../mm/errno.js';
import { hmm_range_fault, type HmmRange } from '../../mm/hmm.js';
import type { Process } from '../../mm/kernel.js';
import { down_read, Mutex, mutex_lock, mutex_unlock, up_read } from '../../mm/locking.js';
import { WARN_ON_ONCE } from '../../mm/mmdebug.js';
import {
  MmuIntervalNotifier, mmu_interval_notifier_insert, mmu_interval_notifier_remove, mmu_interval_read_begin,
  mmu_interval_read_retry, mmu_interval_set_seq,
} from '../../mm/mmu_interval_notifier.js';
import { MMU_NOTIFIER_RANGE_BLOCKABLE, type MmuNotifierRange } from '../../mm/mmu_notifier.js';
import { folio_mark_dirty } from '../../mm/page-writeback.js';
import { PAGE_SIZE } from '../../mm/types.js';
import {
  COMMON_DEVICE_PARAMS, dma_iommu_fault, dma_map_translation, dma_transfer_page, dma_unmap_translation, page_bytes, trace_dev_map,
  trace_dev_unmap, type DeviceCtx, type DeviceInstance, type DeviceModel, type DmaRequest, type DmaResult, type DmaStatus,
  type MemoryRegion, type Translation,
} from '../device.js';

/** One umem_odp: the notifier, umem_mutex and device page table of an MR (or implicit child). */
interface UmemOdp {
  start: number;
  end: number;
  notifier: MmuIntervalNotifier;
  umem_mutex: Mutex;
  /** user page number → translation (and whether the device may write it) */
  pt: Map<number, Translation & { write: boolean }>;
}

interface OdpMr extends MemoryRegion {
  name: string;
  proc: Process;
  start: number;
  writable: boolean;
  implicit: boolean;
  children: Map<number, UmemOdp>;
  deregistered: boolean;
}

/** MLX5_IMR_MTT_SIZE: implicit ODP children cover 1 GiB each. */
const IMR_SLOT = 1024 ** 3;
/** HMM_RANGE_DEFAULT_TIMEOUT */
const HMM_TIMEOUT = 1_000_000_000;

function create(ctx: DeviceCtx): DeviceInstance {
  const k = ctx.k;
  const p = ctx.params;
  const dmaLatency = p['dmaLatency'] as number, faultLatency = p['faultLatency'] as number;
  const invalidateLatency = p['invalidateLatency'] as number;
  const mrs: OdpMr[] = [];
  /** The global emergency XLT page and its mutex (umrFailure "alloc"). */
  const emergency = new Mutex(`${ctx.name}.xlt_emergency_page`);
  let dead = false;
  /** UMR QP recovery failed: every later UMR fails (the unsafe what-if keeps going anyway). */
  let umrBroken = false;

  const all_children = () => mrs.flatMap((m) => [...m.children.values()]);

  function unmap_entry(u: UmemOdp, vpn: number, dirty: boolean): void {
    const x = u.pt.get(vpn);
    if (!x) return;
    // ib_umem_odp_unmap_dma_pages(): DMA-unmap, dirty what the device could write.
    if (dirty && x.write && !k.mem.free[x.pfn]) folio_mark_dirty(k, x.pfn, 'ib_umem_odp_unmap_dma_pages');
    dma_unmap_translation(ctx, x);
    u.pt.delete(vpn);
    trace_dev_unmap(ctx, x);
  }

  /** The device is dead: it maps nothing and never DMAs again. */
  function declare_dead(reason: string): void {
    dead = true;
    k.emit({ type: 'device_dead', time: k.now, actor: ctx.name, device: ctx.name, reason });
    for (const u of all_children()) for (const vpn of [...u.pt.keys()]) unmap_entry(u, vpn, false);
  }

  /** mlx5_ib_invalidate_range() - the MR's interval notifier. */
  function* invalidate(u: UmemOdp, sub: MmuIntervalNotifier, range: MmuNotifierRange, cur_seq: number): Co<boolean> {
    if (!(range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE)) return false;
    yield* mutex_lock(u.umem_mutex, ctx.name, 'odp:invalidate_umem_mutex');
    mmu_interval_set_seq(sub, cur_seq);
    const lo = Math.max(range.start, u.start), hi = Math.min(range.end, u.end);
    const victims = [...u.pt.keys()].filter((v) => v * PAGE_SIZE >= lo && v * PAGE_SIZE < hi).sort((a, b) => a - b);
    let keep = false;
    if (victims.length && !dead) {
      // The zap UMR (mlx5r_umr_update_xlt(ZAP)): post the WQE and wait for its completion.
      if (p['umrFailure'] === 'alloc') {
        yield* mutex_lock(emergency, ctx.name, 'odp:emergency_page');
        yield* delay(invalidateLatency * 4, 'odp:umr_zap_emergency');
        mutex_unlock(emergency);
      } else yield* delay(invalidateLatency, 'odp:umr_zap');
      if (p['umrFailure'] === 'completion' || umrBroken) {
        umrBroken = true;
        if (k.features.mlx5_umr_warn) {
          WARN_ON_ONCE(k, true, 'drivers/infiniband/hw/mlx5/umr.c:mlx5r_umr_post_send_wait', -1, `${ctx.name}: bad UMR completion, QP recovery failed`);
        }
        if (p['unsafeIgnoreZapFailure'] === true) keep = true; // the HW keeps its MTTs and goes on
        else declare_dead('zap UMR failed and UMR QP recovery failed');
      }
    }
    // The driver unmaps the DMA addresses whatever the zap returned; the unsafe HW keeps its MTTs.
    if (!keep) for (const v of victims) unmap_entry(u, v, true);
    mutex_unlock(u.umem_mutex);
    return true;
  }

  function new_umem(mr: OdpMr, start: number, end: number): UmemOdp | Errno {
    const u: UmemOdp = { start, end, umem_mutex: new Mutex(`${ctx.name}.${mr.name}.umem_mutex`), pt: new Map(), notifier: null as unknown as MmuIntervalNotifier };
    u.notifier = new MmuIntervalNotifier(mr.proc.mm, start, end - start, { invalidate: (s, r, c) => invalidate(u, s, r, c) }, ctx.name);
    const err = mmu_interval_notifier_insert(k, u.notifier);
    return err || u;
  }

  /** The umem covering @va (creating an implicit child on first use). */
  function umem_for(mr: OdpMr, va: number): UmemOdp | Errno {
    if (!mr.implicit) return mr.children.get(0) ?? EFAULT;
    const slot = Math.floor(va / IMR_SLOT);
    let u = mr.children.get(slot);
    if (!u) {
      const made = new_umem(mr, slot * IMR_SLOT, (slot + 1) * IMR_SLOT);
      if (IS_ERR(made)) return made;
      mr.children.set(slot, (u = made));
    }
    return u;
  }

  /**
   * pagefault_mr() - map [va, end) of @u for the device (ib_umem_odp_map_dma_and_lock +
   * mlx5r_umr_update_xlt). Return: 0, or the errno that makes the HW complete with an error.
   */
  function* odp_fault(mr: OdpMr, u: UmemOdp, va: number, end: number, write: boolean, fault: boolean): Co<0 | Errno> {
    const deadline = k.now + HMM_TIMEOUT;
    const mm = mr.proc.mm;
    for (;;) {
      if (k.now > deadline) return EBUSY;
      const seq = yield* mmu_interval_read_begin(k, u.notifier);
      const range: HmmRange = { notifier: u.notifier, notifier_seq: seq, start: va, end, fault, write, hmm_pfns: [], snapSeq: 0 };
      yield* down_read(mm.mmap_lock, 'odp:mmap_read_lock');
      const ret = yield* hmm_range_fault(k, mm, range, ctx.name);
      up_read(mm.mmap_lock);
      if (ret === EBUSY) continue;
      if (ret) return ret;
      // DMA-mapping and programming the MTTs take the fault latency; a snapshot that
      // found nothing present has nothing to program.
      if (fault || range.hmm_pfns.some((h) => h.pfn >= 0)) yield* delay(faultLatency, 'odp:fault_latency');
      yield* mutex_lock(u.umem_mutex, ctx.name, 'odp:fault_umem_mutex');
      if (mmu_interval_read_retry(u.notifier, seq)) {
        mutex_unlock(u.umem_mutex);
        continue;
      }
      if (umrBroken || dead) {
        mutex_unlock(u.umem_mutex);
        return EFAULT;
      }
      range.hmm_pfns.forEach((h, i) => {
        if (h.pfn < 0 || h.error) return;
        const vpn = va / PAGE_SIZE + i;
        const old = u.pt.get(vpn);
        const canWrite = mr.writable && h.write && !h.zero;
        if (old && old.pfn === h.pfn) { old.write = canWrite; return; }
        if (old) unmap_entry(u, vpn, true);
        const x = { ...dma_map_translation(ctx, h.pfn, mm.owner, vpn * PAGE_SIZE, h.gen), write: canWrite };
        u.pt.set(vpn, x);
        trace_dev_map(ctx, x, canWrite, range.snapSeq, false);
      });
      mutex_unlock(u.umem_mutex);
      return 0;
    }
  }

  function* reg_mr(proc: Process, addr: number, length: number, access: 'r' | 'rw', name: string): Co<MemoryRegion | Errno> {
    const implicit = p['implicit'] === true;
    if (length === 0 && !implicit) return EINVAL;
    const mr: OdpMr = { device: ctx.name, length, name, proc, start: addr, writable: access === 'rw', implicit, children: new Map(), deregistered: false };
    if (!implicit) {
      const start = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE, end = Math.ceil((addr + length) / PAGE_SIZE) * PAGE_SIZE;
      const u = new_umem(mr, start, end);
      if (IS_ERR(u)) return u;
      mr.children.set(0, u);
      // mlx5_ib_init_odp_mr(): map what is already present, without faulting (SNAPSHOT).
      const ret = yield* odp_fault(mr, u, start, end, false, false);
      if (ret) {
        yield* mmu_interval_notifier_remove(k, u.notifier);
        return ret;
      }
    }
    mrs.push(mr);
    return mr;
  }

  function* dereg_mr(m: MemoryRegion): Co<0 | Errno> {
    const mr = m as OdpMr;
    if (mr.deregistered) return EINVAL;
    mr.deregistered = true;
    for (const u of mr.children.values()) {
      yield* mmu_interval_notifier_remove(k, u.notifier);
      yield* mutex_lock(u.umem_mutex, ctx.name, 'odp:dereg_umem_mutex');
      for (const v of [...u.pt.keys()]) unmap_entry(u, v, true);
      mutex_unlock(u.umem_mutex);
    }
    return 0;
  }

  /** The device accesses one page at @va, faulting first if its MTT has no usable entry. */
  function* access_page(mr: OdpMr, va: number, end: number, req: DmaRequest, faults: { n: number }, base: number): Co<DmaStatus | number> {
    for (;;) {
      if (dead) return 'device-error';
      const u = umem_for(mr, va);
      if (IS_ERR(u)) return 'remote-access-error';
      const x = u.pt.get(va / PAGE_SIZE);
      if (x && (!req.write || x.write)) {
        const seen = dma_transfer_page(ctx, x, req.write, req.token, req.wr, req.write ? 'dma_write' : 'dma_read', page_bytes(base, req.length, va));
        return seen < 0 ? yield* dma_iommu_fault(ctx) : seen;
      }
      // A device page fault: the requester stalls while the driver resolves it.
      faults.n++;
      const ret = yield* odp_fault(mr, u, va, Math.min(end, u.end), req.write, true);
      if (ret) return dead ? 'device-error' : 'remote-access-error';
    }
  }

  function* dma(req: DmaRequest): Co<DmaResult> {
    const mr = req.mr as OdpMr;
    const t0 = k.now;
    const tokens: number[] = [];
    const finish = function* (status: DmaStatus): Co<DmaResult> {
      if (k.now < t0 + dmaLatency) yield* delay(t0 + dmaLatency - k.now, 'odp:dma_done');
      return { status, tokens };
    };
    if (dead) return yield* finish('device-error');
    const base = mr.implicit ? req.offset : mr.start + req.offset;
    if (mr.deregistered || (!mr.implicit && req.offset + req.length > mr.length) || (req.write && !mr.writable)) {
      return yield* finish('remote-access-error');
    }
    const first = Math.floor(base / PAGE_SIZE), n = req.length === 0 ? 0 : Math.ceil((base + req.length) / PAGE_SIZE) - first;
    const step = n ? Math.floor(dmaLatency / n) : 0;
    const end = (first + n) * PAGE_SIZE;
    k.emit({ type: 'dma_start', time: k.now, actor: ctx.name, wr: req.wr, op: req.write ? 'dma_write' : 'dma_read', device: ctx.name, length: req.length, pages: n, ns: dmaLatency });
    const faults = { n: 0 };
    for (let i = 0; i < n; i++) {
      if (i === 0) yield* schedPoint('odp:dma_page');
      else yield* delay(step, 'odp:dma_page');
      const r = yield* access_page(mr, (first + i) * PAGE_SIZE, end, req, faults, base);
      if (typeof r === 'string') return yield* finish(r);
      tokens.push(r);
    }
    return yield* finish('ok');
  }

  function* advise_mr(m: MemoryRegion, advice: 'prefetch' | 'prefetch_write' | 'prefetch_no_fault', offset: number, length: number): Co<0 | Errno> {
    const mr = m as OdpMr;
    if (mr.deregistered) return EINVAL;
    if (advice === 'prefetch_write' && !mr.writable) return EPERM;
    const base = mr.implicit ? offset : mr.start + offset;
    if (!mr.implicit && offset + length > mr.length) return EFAULT;
    if (length === 0) return 0;
    const start = Math.floor(base / PAGE_SIZE) * PAGE_SIZE, end = Math.ceil((base + length) / PAGE_SIZE) * PAGE_SIZE;
    for (let va = start; va < end;) {
      const u = umem_for(mr, va);
      if (IS_ERR(u)) return u;
      const stop = Math.min(end, u.end);
      const ret = yield* odp_fault(mr, u, va, stop, advice === 'prefetch_write', advice !== 'prefetch_no_fault');
      if (ret && advice !== 'prefetch_no_fault') return ret;
      va = stop;
    }
    return 0;
  }

  function* release_process(proc: Process): Co {
    for (const mr of mrs) if (mr.proc === proc && !mr.deregistered) yield* dereg_mr(mr);
  }

  function fingerprint(): number {
    const h = new Hasher().add(dead ? 1 : 0).add(umrBroken ? 1 : 0);
    for (const mr of mrs) {
      h.add(mr.deregistered ? 1 : 0);
      for (const u of mr.children.values()) {
        h.add(u.start).add(u.notifier.invalidate_seq);
        for (const [v, x] of [...u.pt].sort((a, b) => a[0] - b[0])) h.add(v).add(x.pfn).add(x.gen).add(x.write ? 1 : 0);
      }
    }
    return h.value;
  }

  return { reg_mr, dereg_mr, dma, advise_mr, release_process, fingerprint };
}

export const odp_nic: DeviceModel = {
  name: 'odp-nic',
  description: 'mlx5 ODP: interval notifier per MR, device page faults via hmm_range_fault with read_begin/read_retry, synchronous UMR zap in invalidate, no page references',
  params: {
    dmaLatency: { kind: 'time', default: 1000, doc: 'post → completion of a DMA without faults' },
    faultLatency: { kind: 'time', default: 100_000, doc: 'device page fault: between the hmm_range_fault snapshot and taking umem_mutex (hundreds of µs to ms on real hardware; pinsim picks 100 µs)' },
    invalidateLatency: { kind: 'time', default: 10_000, doc: 'one zap UMR round trip in invalidate (5–50 µs per UMR; pinsim picks 10 µs)' },
    umrFailure: { kind: 'enum', values: ['none', 'alloc', 'completion'], default: 'none', doc: 'alloc: emergency XLT page (slower, serialised, never fails); completion: the zap UMR fails, recovery fails, the device is dead' },
    unsafeIgnoreZapFailure: { kind: 'bool', default: false, doc: 'what-if: after a failed zap the device is not declared dead and keeps its translations' },
    implicit: { kind: 'bool', default: false, doc: 'implicit ODP: reg_mr covers the whole address space; DMA offsets are virtual addresses; 1 GiB children on first fault' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['reg_mr', 'dereg_mr', 'dma_read', 'dma_write', 'advise_mr'],
  // After a failed zap mlx5_ib_invalidate_range() ignores the error and unmaps the DMA addresses;
  // nothing stops the device: a device that stops all DMA is an assumption about the hardware.
  hypothetical: (p) => (p['umrFailure'] === 'completion' && p['unsafeIgnoreZapFailure'] !== true
    ? 'stops all DMA after a failed zap UMR, which no driver code makes it do (mlx5 ignores the failure)'
    : null),
  create,
};
