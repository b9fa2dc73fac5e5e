/**
 * dmirror: a device mirroring a process's address space through HMM, as lib/test_hmm.c's test
 * driver does. A mirror subscribes one interval notifier over the whole address space; its device
 * page table (a TranslationTable: page → frame, WRITE and ATOMIC tags) holds no page reference and
 * stays valid only through the notifier:
 *
 *   dmirror_range_fault()                          dmirror_interval_invalidate()
 *   seq = mmu_interval_read_begin()
 *   mmap_read_lock; hmm_range_fault(); unlock      mutex_lock(dmirror->mutex)
 *   (faultLatency: the driver maps and programs)   mmu_interval_set_seq(); erase the range
 *   mutex_lock(dmirror->mutex)                     mutex_unlock()
 *   mmu_interval_read_retry(seq)? unlock, again
 *   install the range's entries; mutex_unlock()
 *
 * READ and WRITE copy under the mutex until the first page the table lacks (or cannot write), then
 * run one fault round over the rest in 32-page windows and go on. SNAPSHOT reports the CPU page
 * tables without faulting, under a temporary notifier.
 * Kernel: lib/test_hmm.c struct dmirror, dmirror_interval_invalidate(), dmirror_range_fault(),
 * dmirror_fault(), dmirror_do_read(), dmirror_do_write(), dmirror_snapshot().
 */
import { delay, schedPoint, type Co } from '../../engine/actor.js';
import { EBUSY, EFAULT, EINVAL, type Errno } from '../../mm/errno.js';
import { HMM_RANGE_DEFAULT_TIMEOUT, hmm_range_fault, type HmmPfn, type HmmRange } from '../../mm/hmm.js';
import type { Process } from '../../mm/kernel.js';
import { down_read, Mutex, mutex_lock, mutex_trylock, mutex_unlock, up_read } from '../../mm/locking.js';
import { TASK_SIZE } from '../../mm/mmap.js';
import { find_vma, type VmAreaStruct } from '../../mm/mm_types.js';
import { WARN_ON_ONCE } from '../../mm/mmdebug.js';
import {
  MmuIntervalNotifier, mmu_interval_notifier_insert, mmu_interval_notifier_remove, mmu_interval_read_begin,
  mmu_interval_read_retry, mmu_interval_set_seq,
} from '../../mm/mmu_interval_notifier.js';
import { MMU_NOTIFIER_RANGE_BLOCKABLE, MMU_NOTIFY_EXCLUSIVE, MMU_NOTIFY_MIGRATE, type MmuNotifierRange } from '../../mm/mmu_notifier.js';
import { HPAGE_PMD_ORDER, HPAGE_PUD_ORDER } from '../../mm/hugetlb.js';
import { withBook } from '../../mm/trace_events.js';
import { PAGE_SIZE, VM_READ } from '../../mm/types.js';
import {
  boolParam, dma_transfer_page, numberParam, TranslationTable, type DeviceCtx, type MemoryRegion, type MirrorOpResult, type TableEntry,
} from '../device.js';

/** Pages per fault window (32 in current kernels). */
export const DMIRROR_FAULT_WINDOW = 32;

/** The model's parameters, read once (see gpu_hmm.params for their meaning). */
export interface DmirrorParams {
  readonly dmaLatency: number;
  readonly faultLatency: number;
  readonly invalidateLatency: number;
  readonly skipReadRetry: boolean;
  readonly ackBeforeDrain: boolean;
  readonly ignoreBlockable: boolean;
}

/** struct dmirror_device: the device, its parameters and its mirrors. */
export class DmirrorDevice {
  readonly ctx: DeviceCtx;
  readonly p: DmirrorParams;
  readonly mirrors: Dmirror[] = [];
  /** The mirror each device-private page was migrated for (lib/test_hmm.c: rpage->zone_device_data). */
  readonly page_mirror = new Map<number, Dmirror>();

  constructor(ctx: DeviceCtx) {
    this.ctx = ctx;
    this.p = {
      dmaLatency: numberParam(ctx, 'dmaLatency'), faultLatency: numberParam(ctx, 'faultLatency'),
      invalidateLatency: numberParam(ctx, 'invalidateLatency'), skipReadRetry: boolParam(ctx, 'skipReadRetry'),
      ackBeforeDrain: boolParam(ctx, 'ackBeforeDrain'), ignoreBlockable: boolParam(ctx, 'ignoreBlockable'),
    };
  }

  /** reset() - no mirror and no device page, as new (a machine reused by the next execution). */
  reset(): void {
    this.mirrors.length = 0;
    if (this.page_mirror.size) this.page_mirror.clear();
  }
}

/** struct dmirror: one open mirror of @proc's address space (what the runner calls a mirror). */
export class Dmirror implements MemoryRegion {
  readonly dev: DmirrorDevice;
  readonly device: string;
  readonly name: string;
  readonly proc: Process;
  /** The address the mirror's op offsets count from. */
  readonly addr: number;
  readonly length: number;
  readonly notifier: MmuIntervalNotifier;
  readonly mutex: Mutex;
  /** dmirror->pt: the device page table. */
  readonly table: TranslationTable;
  closed = false;

  constructor(dev: DmirrorDevice, proc: Process, addr: number, length: number, name: string) {
    this.dev = dev;
    this.device = dev.ctx.name;
    this.name = name;
    this.proc = proc;
    this.addr = addr;
    this.length = length;
    this.mutex = new Mutex(`${dev.ctx.name}.${name}.mutex`);
    // The notifier is embedded in the dmirror (container_of in the kernel): its op finds this mirror.
    this.notifier = new MmuIntervalNotifier(proc.mm, 0, TASK_SIZE, {
      invalidate: (sub, range, cur_seq) => dmirror_interval_invalidate(this, sub, range, cur_seq),
    }, dev.ctx.name);
    this.table = new TranslationTable(dev.ctx, proc.mm.owner, { sub: this.notifier });
  }
}

/**
 * dmirror_interval_invalidate() - erase the device entries of @range. The device's own migration
 * and exclusive-access ranges (owner = this device) update the table themselves.
 * Context: the invalidation's caller (mm); takes the mirror's mutex (trylock when non-blockable,
 * unless the ignoreBlockable knob makes it the buggy driver that sleeps there anyway).
 * Return: false when a non-blockable range finds the mutex taken, else true.
 * Kernel: lib/test_hmm.c dmirror_interval_invalidate(), dmirror_do_update().
 */
export function* dmirror_interval_invalidate(d: Dmirror, sub: MmuIntervalNotifier, range: MmuNotifierRange, cur_seq: number): Co<boolean> {
  const ctx = d.dev.ctx;
  if ((range.event === MMU_NOTIFY_MIGRATE || range.event === MMU_NOTIFY_EXCLUSIVE) && range.owner === ctx.name) return true;
  // ignoreBlockable: a buggy driver that never asks mmu_notifier_range_blockable().
  const blockable = (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0 || d.dev.p.ignoreBlockable;
  if (blockable) yield* mutex_lock(d.mutex, ctx.name, 'gpu:invalidate_mutex');
  else if (!mutex_trylock(d.mutex, ctx.name)) return false;
  // Pairs with mmu_interval_read_retry() in dmirror_range_fault().
  mmu_interval_set_seq(sub, cur_seq);
  const first = Math.ceil(range.start / PAGE_SIZE), end = Math.ceil(range.end / PAGE_SIZE);
  // The device TLB flush: waited for only where the range may sleep (dmirror has none to wait for).
  if (blockable && d.table.anyIn(first, end)) yield* delay(d.dev.p.invalidateLatency, 'gpu:invalidate_tlb');
  d.table.eraseRange(first, end);
  mutex_unlock(d.mutex);
  return true;
}

/**
 * dmirror_range_fault() - fault [@start, @end) (one window) in and install it in the table.
 * Context: may sleep; takes mmap_lock for read around the walk, then the mirror's mutex.
 * Return: 0; EBUSY (HMM_RANGE_DEFAULT_TIMEOUT passed while invalidations kept colliding); the
 * walk's errno (EFAULT, EPERM).
 * Kernel: lib/test_hmm.c dmirror_range_fault(), dmirror_do_fault().
 */
export function* dmirror_range_fault(d: Dmirror, start: number, end: number, write: boolean): Co<0 | Errno> {
  const ctx = d.dev.ctx, k = ctx.k;
  const mm = d.proc.mm;
  const deadline = k.now + HMM_RANGE_DEFAULT_TIMEOUT;
  for (;;) {
    if (k.now > deadline) return EBUSY;
    // Pairs with mmu_interval_read_retry() below.
    const seq = yield* mmu_interval_read_begin(k, d.notifier);
    const range: HmmRange = { notifier: d.notifier, notifier_seq: seq, start, end, fault: true, write, hmm_pfns: [], snapSeq: 0, dev_private_owner: ctx.name };
    yield* down_read(mm.mmap_lock, 'gpu:mmap_read_lock');
    const ret = yield* hmm_range_fault(k, mm, range, ctx.name);
    up_read(mm.mmap_lock);
    if (ret === EBUSY) continue;
    if (ret) return ret;
    // Where a real driver DMA-maps and programs its tables: an invalidation may run meanwhile.
    yield* delay(d.dev.p.faultLatency, 'gpu:fault_latency');
    yield* mutex_lock(d.mutex, ctx.name, 'gpu:fault_mutex');
    if (!d.dev.p.skipReadRetry && mmu_interval_read_retry(d.notifier, seq)) {
      mutex_unlock(d.mutex);
      continue;
    }
    const batch = d.table.beginMap(range.snapSeq);
    let err: 0 | Errno = 0;
    for (let i = 0; i < range.hmm_pfns.length; i++) {
      const h = range.hmm_pfns[i] as HmmPfn;
      if (h.pfn < 0) continue;
      // A write fault that got a read-only page: the walk reports the caller's own device-private
      // page as it is (read-only after fork) without faulting it, and dmirror_do_fault() WARNs and
      // fails rather than retrying for ever.
      if (write && !h.write) {
        WARN_ON_ONCE(k, true, 'lib/test_hmm.c:dmirror_do_fault', h.pfn, `${ctx.name}: a write fault got a read-only pfn`);
        err = EFAULT;
        break;
      }
      const vpn = start / PAGE_SIZE + i;
      d.table.erase(vpn);
      batch.insert(vpn, h.pfn, h.write, h.gen);
    }
    batch.end();
    mutex_unlock(d.mutex);
    return err;
  }
}

/**
 * dmirror_fault() - fault [@start, @end) in, window by window.
 * Context: may sleep. Return: 0 or the first failing window's errno.
 * Kernel: lib/test_hmm.c dmirror_fault().
 */
export function* dmirror_fault(d: Dmirror, start: number, end: number, write: boolean): Co<0 | Errno> {
  for (let a = start; a < end; a += DMIRROR_FAULT_WINDOW * PAGE_SIZE) {
    const ret = yield* dmirror_range_fault(d, a, Math.min(end, a + DMIRROR_FAULT_WINDOW * PAGE_SIZE), write);
    if (ret) return ret;
  }
  return 0;
}

/** The run of entries the device can use from @start on, under the mutex: until a missing (or read-only, for a write) page. */
function usable_run(d: Dmirror, start: number, end: number, write: boolean): TableEntry[] {
  const run: TableEntry[] = [];
  for (let a = start; a < end; a += PAGE_SIZE) {
    const x = d.table.lookup(a / PAGE_SIZE);
    if (!x || (write && !x.write)) break;
    run.push(x);
  }
  return run;
}

/**
 * dmirror_rw() - dmirror_do_read()/dmirror_do_write(): copy [@start, @end) through the table, a page
 * per step, until the first page the table lacks; then one fault round over the rest, and go on.
 * With ackBeforeDrain (a buggy device) the copy runs outside the mutex on entries captured first,
 * so an invalidation can return while it is still in flight.
 * Context: may sleep. Return: the op's result, tokens read, pages copied (cpages), fault rounds.
 * Kernel: lib/test_hmm.c dmirror_read(), dmirror_write(), dmirror_do_read(), dmirror_do_write().
 */
export function* dmirror_rw(d: Dmirror, start: number, end: number, write: boolean, token: number, wr: string): Co<MirrorOpResult> {
  const ctx = d.dev.ctx, k = ctx.k;
  const dmaLatency = d.dev.p.dmaLatency;
  const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
  const n = (end - start) / PAGE_SIZE;
  const step = n ? Math.floor(dmaLatency / n) : 0;
  const t0 = k.now;
  const op = write ? 'gpu_write' : 'gpu_read';
  k.emit({ type: 'dma_start', time: k.now, actor: ctx.name, wr, op, device: ctx.name, length: end - start, pages: n, ns: dmaLatency });
  const drain = !d.dev.p.ackBeforeDrain;
  for (let cur = start; cur < end;) {
    yield* mutex_lock(d.mutex, ctx.name, 'gpu:copy_mutex');
    const run = usable_run(d, cur, end, write);
    if (!drain) {
      for (const x of run) k.emit(withBook({ type: 'dev_dma_hold', time: k.now, actor: ctx.name, device: ctx.name, wr, mm: x.mm, va: x.va, pfn: x.pfn }, d.notifier.id || null));
      mutex_unlock(d.mutex);
    }
    for (const x of run) {
      // Each page of the copy is a point where the CPU side may run.
      if (res.cpages === 0) yield* schedPoint('gpu:copy_page');
      else yield* delay(step, 'gpu:copy_page');
      res.tokens.push(dma_transfer_page(ctx, x, write, token, wr, op, PAGE_SIZE));
      res.cpages++;
    }
    if (drain) mutex_unlock(d.mutex);
    else k.emit({ type: 'dev_dma_release', time: k.now, actor: ctx.name, device: ctx.name, wr });
    cur += run.length * PAGE_SIZE;
    if (cur >= end) break;
    const ret = yield* dmirror_fault(d, cur, end, write);
    if (ret) {
      k.emit({ type: 'dma_complete', time: k.now, actor: ctx.name, wr, device: ctx.name, status: ret });
      return { ...res, result: ret };
    }
    res.faults++;
  }
  if (k.now < t0 + dmaLatency) yield* delay(t0 + dmaLatency - k.now, 'gpu:copy_done');
  k.emit({ type: 'dma_complete', time: k.now, actor: ctx.name, wr, device: ctx.name, status: 'ok' });
  return res;
}

/**
 * The snapshot byte of one page, as names (ERROR, NONE, READ, WRITE, ZERO|READ, DEV_PRIVATE_LOCAL|…),
 * with PMD or PUD when hmm_range_fault reported that order (5.9+: dmirror_mkentry()).
 */
function snapshot_name(h: HmmPfn): string {
  if (h.error) return 'ERROR';
  if (h.pfn < 0) return 'NONE';
  if (h.devpriv) return `DEV_PRIVATE_LOCAL|${h.write ? 'WRITE' : 'READ'}`;
  const base = h.zero ? 'ZERO|READ' : h.write ? 'WRITE' : 'READ';
  return h.order === HPAGE_PUD_ORDER ? `${base}|PUD` : h.order === HPAGE_PMD_ORDER ? `${base}|PMD` : base;
}

/**
 * dmirror_snapshot() - report the CPU page tables of [@start, @end) without faulting, window by
 * window, each under a temporary interval notifier (retried until no invalidation hits it).
 * Context: may sleep. Return: the result (EINVAL when the mm is gone), cpages = pages reported,
 * snapshot = one name per page.
 * Kernel: lib/test_hmm.c dmirror_snapshot(), dmirror_range_snapshot().
 */
export function* dmirror_snapshot(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
  const ctx = d.dev.ctx, k = ctx.k;
  const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
  const mm = d.proc.mm;
  const names: string[] = [];
  for (let a = start; a < end; a += DMIRROR_FAULT_WINDOW * PAGE_SIZE) {
    const e = Math.min(end, a + DMIRROR_FAULT_WINDOW * PAGE_SIZE);
    const tmp = new MmuIntervalNotifier(mm, a, e - a, { invalidate: function* (s, _r, cur_seq) { mmu_interval_set_seq(s, cur_seq); return true; } }, ctx.name);
    const err = mmu_interval_notifier_insert(k, tmp);
    if (err) return { ...res, result: err };
    let pfns: HmmPfn[] = [];
    for (;;) {
      const seq = yield* mmu_interval_read_begin(k, tmp);
      const range: HmmRange = { notifier: tmp, notifier_seq: seq, start: a, end: e, fault: false, write: false, hmm_pfns: [], snapSeq: 0, dev_private_owner: ctx.name };
      yield* down_read(mm.mmap_lock, 'gpu:snapshot_mmap_read_lock');
      const ret = yield* hmm_range_fault(k, mm, range, ctx.name);
      up_read(mm.mmap_lock);
      if (ret === EBUSY || mmu_interval_read_retry(tmp, seq)) continue;
      pfns = range.hmm_pfns;
      break;
    }
    yield* mmu_interval_notifier_remove(k, tmp);
    names.push(...pfns.map(snapshot_name));
  }
  res.cpages = names.length;
  res.snapshot = names.join(',');
  return res;
}

/**
 * dmirror_vmas() - (pinsim-only name) the VMAs covering [@start, @end) of the mirror's mm.
 * Context: mmap_lock not required (the simulated VMA list does not change under a step).
 * Return: them in order, or EINVAL when part of the range is unmapped or unreadable.
 * Kernel: the vma walks of lib/test_hmm.c dmirror_migrate_to_device(), dmirror_exclusive().
 */
export function dmirror_vmas(d: Dmirror, start: number, end: number): VmAreaStruct[] | Errno {
  const out: VmAreaStruct[] = [];
  for (let a = start; a < end;) {
    const vma = find_vma(d.proc.mm, a);
    if (!vma || !(vma.vm_flags & VM_READ)) return EINVAL;
    out.push(vma);
    a = vma.vm_end;
  }
  return out;
}
