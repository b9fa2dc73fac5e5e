/**
 * gpu-hmm: a GPU mirroring a process's address space through HMM, as lib/test_hmm.c's dmirror
 * (lib/test_hmm.c, and its tests in tools/testing/selftests/mm/hmm-tests.c). `mirror` registers one interval notifier over the whole
 * address space; the device page table (vpn → page, WRITE tag) holds no page references. READ and
 * WRITE copy under the mirror mutex; on the first missing entry they run one fault round over the
 * rest of the range in 32-page windows (read_begin → hmm_range_fault → faultLatency → mutex →
 * read_retry → install), count it in `faults`, and go on; `cpages` counts pages copied.
 * `invalidate` takes the mutex (trylock when non-blockable), sets the seq and erases the range.
 * MIGRATE_TO_DEV/TO_SYS move anonymous pages into device-private memory and back (migrate_vma); a
 * CPU touch of a device page brings it back through migrate_to_ram. EXCLUSIVE maps pages ATOMIC
 * behind device-exclusive entries; any CPU touch revokes that (CHECK_EXCLUSIVE then says 0).
 * Knobs: skipReadRetry (a driver that installs without read_retry under its lock) and
 * ackBeforeDrain (a device whose copy keeps going after invalidate returned).
 * Kernel: lib/test_hmm.c dmirror_interval_invalidate(), dmirror_range_fault(), dmirror_fault(),
 * dmirror_read(), dmirror_write(), dmirror_snapshot().
 */
import { delay, schedPoint, type Co } from '../../engine/actor.js';
import { Hasher } from '../../engine/hash.js';
import { EBUSY, EFAULT, EINVAL, ENOENT, EPERM, IS_ERR, type Errno } from '../../mm/errno.js';
import { MAPPING_ANON } from '../../mm/mem_map.js';
import { migrate_vma_finalize, migrate_vma_setup } from '../../mm/migrate_device.js';
import { find_vma, type VmAreaStruct } from '../../mm/mm_types.js';
import { hmm_range_fault, type HmmPfn, type HmmRange } from '../../mm/hmm.js';
import type { Process } from '../../mm/kernel.js';
import { down_read, Mutex, mutex_lock, mutex_trylock, mutex_unlock, up_read } from '../../mm/locking.js';
import { TASK_SIZE } from '../../mm/mmap.js';
import {
  MmuIntervalNotifier, mmu_interval_notifier_insert, mmu_interval_notifier_remove, mmu_interval_read_begin,
  mmu_interval_read_retry, mmu_interval_set_seq,
} from '../../mm/mmu_interval_notifier.js';
import { MMU_NOTIFIER_RANGE_BLOCKABLE, MMU_NOTIFY_EXCLUSIVE, MMU_NOTIFY_MIGRATE, type MmuNotifierRange } from '../../mm/mmu_notifier.js';
import { make_device_exclusive } from '../../mm/rmap.js';
import { handle_mm_fault, vpn } from '../../mm/memory.js';
import { pte_present, pte_write } from '../../mm/mm_types.js';
import { FAULT_FLAG_WRITE, PAGE_SIZE, PG_devpriv, VM_FAULT_SIGBUS, VM_READ, VM_WRITE } from '../../mm/types.js';
import {
  COMMON_DEVICE_PARAMS, dma_map_translation, dma_transfer_page, dma_unmap_translation, trace_dev_map, trace_dev_unmap,
  type DeviceCtx, type DeviceInstance, type DeviceModel, type MemoryRegion, type MirrorOpName, type MirrorOpResult,
  type Translation,
} from '../device.js';

/** A device page-table entry: WRITE and ATOMIC tags as dmirror's xarray has them. */
type Entry = Translation & { write: boolean; atomic?: boolean };

interface Dmirror extends MemoryRegion {
  name: string;
  proc: Process;
  addr: number;
  notifier: MmuIntervalNotifier;
  mutex: Mutex;
  pt: Map<number, Entry>;
  closed: boolean;
}

/** Pages per fault window (32 in current kernels: dmirror_fault()'s 64-page chunk was halved). */
const FAULT_WINDOW = 32;
const HMM_TIMEOUT = 1_000_000_000;

/** The snapshot byte of one page, as names (HMM_DMIRROR_PROT_* of test_hmm_uapi.h). */
function snapshot_name(h: HmmPfn): string {
  if (h.error) return 'ERROR';
  if (h.pfn < 0) return 'NONE';
  if (h.devpriv) return `DEV_PRIVATE_LOCAL|${h.write ? 'WRITE' : 'READ'}`;
  return h.zero ? 'ZERO|READ' : h.write ? 'WRITE' : 'READ';
}

function create(ctx: DeviceCtx): DeviceInstance {
  const k = ctx.k;
  const p = ctx.params;
  const dmaLatency = p['dmaLatency'] as number, faultLatency = p['faultLatency'] as number;
  const invalidateLatency = p['invalidateLatency'] as number;
  const mirrors: Dmirror[] = [];

  function erase(d: Dmirror, vpn: number): void {
    const x = d.pt.get(vpn);
    if (!x) return;
    dma_unmap_translation(ctx, x);
    d.pt.delete(vpn);
    trace_dev_unmap(ctx, x);
  }

  /** dmirror_interval_invalidate() */
  function* invalidate(d: Dmirror, sub: MmuIntervalNotifier, range: MmuNotifierRange, cur_seq: number): Co<boolean> {
    // The device's own migration updates its table itself.
    if ((range.event === MMU_NOTIFY_MIGRATE || range.event === MMU_NOTIFY_EXCLUSIVE) && range.owner === ctx.name) return true;
    if (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) yield* mutex_lock(d.mutex, ctx.name, 'gpu:invalidate_mutex');
    else if (!mutex_trylock(d.mutex, ctx.name)) return false;
    mmu_interval_set_seq(sub, cur_seq);
    const victims = [...d.pt.keys()].filter((v) => v * PAGE_SIZE >= range.start && v * PAGE_SIZE < range.end);
    // The device TLB flush: waited for only where the range may sleep (dmirror has none to wait for).
    if (victims.length && range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) yield* delay(invalidateLatency, 'gpu:invalidate_tlb');
    for (const v of victims) erase(d, v);
    mutex_unlock(d.mutex);
    return true;
  }

  /** dmirror_range_fault() - one window. Return: 0 or the errno of hmm_range_fault. */
  function* range_fault(d: Dmirror, start: number, end: number, write: boolean): Co<0 | Errno> {
    const deadline = k.now + HMM_TIMEOUT;
    const mm = d.proc.mm;
    for (;;) {
      if (k.now > deadline) return EBUSY;
      const seq = yield* mmu_interval_read_begin(k, d.notifier);
      const range: HmmRange = { notifier: d.notifier, notifier_seq: seq, start, end, fault: true, write, hmm_pfns: [], snapSeq: 0, dev_private_owner: ctx.name };
      yield* down_read(mm.mmap_lock, 'gpu:mmap_read_lock');
      const ret = yield* hmm_range_fault(k, mm, range, ctx.name);
      up_read(mm.mmap_lock);
      if (ret === EBUSY) continue;
      if (ret) return ret;
      // Where a real driver DMA-maps and programs its tables.
      yield* delay(faultLatency, 'gpu:fault_latency');
      yield* mutex_lock(d.mutex, ctx.name, 'gpu:fault_mutex');
      if (p['skipReadRetry'] !== true && mmu_interval_read_retry(d.notifier, seq)) {
        mutex_unlock(d.mutex);
        continue;
      }
      range.hmm_pfns.forEach((h, i) => {
        if (h.pfn < 0) return;
        const vpn = start / PAGE_SIZE + i;
        erase(d, vpn);
        const x: Entry = { ...dma_map_translation(ctx, h.pfn, mm.owner, vpn * PAGE_SIZE, h.gen), write: h.write };
        d.pt.set(vpn, x);
        trace_dev_map(ctx, x, h.write, range.snapSeq, false);
      });
      mutex_unlock(d.mutex);
      return 0;
    }
  }

  /** dmirror_fault() - fault [start, end) in windows. */
  function* dmirror_fault(d: Dmirror, start: number, end: number, write: boolean): Co<0 | Errno> {
    for (let a = start; a < end; a += FAULT_WINDOW * PAGE_SIZE) {
      const ret = yield* range_fault(d, a, Math.min(end, a + FAULT_WINDOW * PAGE_SIZE), write);
      if (ret) return ret;
    }
    return 0;
  }

  /**
   * dmirror_read()/dmirror_write(): copy under the mutex until the first missing entry, then one
   * fault round over the rest. With ackBeforeDrain the copy runs outside the mutex on translations
   * captured first, so an invalidation can return while it is still in flight.
   */
  function* copy(d: Dmirror, start: number, end: number, write: boolean, token: number, wr: string): Co<MirrorOpResult> {
    const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
    const n = (end - start) / PAGE_SIZE;
    const step = n ? Math.floor(dmaLatency / n) : 0;
    const t0 = k.now;
    k.emit({ type: 'dma_start', time: k.now, actor: ctx.name, wr, op: write ? 'gpu_write' : 'gpu_read', device: ctx.name, length: end - start, pages: n, ns: dmaLatency });
    let cur = start;
    while (cur < end) {
      yield* mutex_lock(d.mutex, ctx.name, 'gpu:copy_mutex');
      const run: Entry[] = [];
      for (let a = cur; a < end; a += PAGE_SIZE) {
        const x = d.pt.get(a / PAGE_SIZE);
        if (!x || (write && !x.write)) break;
        run.push(x);
      }
      const drain = p['ackBeforeDrain'] !== true;
      if (!drain) {
        for (const x of run) k.emit({ type: 'dev_dma_hold', time: k.now, actor: ctx.name, device: ctx.name, wr, mm: x.mm, va: x.va, pfn: x.pfn });
        mutex_unlock(d.mutex);
      }
      for (const x of run) {
        // Each page of the copy is a point where the CPU side may run.
        if (res.cpages === 0) yield* schedPoint('gpu:copy_page');
        else yield* delay(step, 'gpu:copy_page');
        res.tokens.push(dma_transfer_page(ctx, x, write, token, wr, write ? 'gpu_write' : 'gpu_read', PAGE_SIZE));
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

  /** A device-private page (simulated VRAM) holding @content, owned by this device. */
  function alloc_device_page(content: number): number {
    const pfn = k.alloc.alloc_page();
    if (pfn < 0) return -1;
    k.mem.flags[pfn] = PG_devpriv;
    k.mem.mapping[pfn] = MAPPING_ANON;
    k.mem.content[pfn] = content;
    k.pgmaps.owner.set(pfn, ctx.name);
    k.emit({ type: 'folio_alloc', time: k.now, actor: ctx.name, pfn, gen: k.mem.gen[pfn] as number, owner: `devpriv:${ctx.name}`, file: '', index: -1 });
    return pfn;
  }

  /** The VMAs of [start, end), or EINVAL when part of it is unmapped or unreadable. */
  function vmas_for(d: Dmirror, start: number, end: number): VmAreaStruct[] | Errno {
    const out: VmAreaStruct[] = [];
    for (let a = start; a < end;) {
      const vma = find_vma(d.proc.mm, a);
      if (!vma || !(vma.vm_flags & VM_READ)) return EINVAL;
      out.push(vma);
      a = vma.vm_end;
    }
    return out;
  }

  /**
   * dmirror_migrate_to_device(): system pages of the range move into device memory (pinned or
   * file-backed ones stay); the device table maps them; then the whole range is read back through
   * the device table: a page it lacks makes the ioctl fail with ENOENT. cpages = pages it holds.
   */
  function* migrate_to_device(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
    const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
    const mm = d.proc.mm;
    const vmas = vmas_for(d, start, end);
    if (IS_ERR(vmas)) return { ...res, result: vmas };
    yield* down_read(mm.mmap_lock, 'gpu:migrate_mmap_read_lock');
    for (const vma of vmas) {
      const mv = yield* migrate_vma_setup(k, vma, Math.max(start, vma.vm_start), Math.min(end, vma.vm_end), 'system', ctx.name);
      const dst = mv.pages.map((p) => alloc_device_page(p.src < 0 || p.zero ? 0 : (k.mem.content[p.src] as number)));
      migrate_vma_finalize(k, mv, dst, true);
      yield* mutex_lock(d.mutex, ctx.name, 'gpu:migrate_mutex');
      mv.pages.forEach((p, i) => {
        const pfn = dst[i] as number;
        if (pfn < 0) return;
        erase(d, p.addr / PAGE_SIZE);
        const x: Entry = { ...dma_map_translation(ctx, pfn, mm.owner, p.addr), write: p.write || (vma.vm_flags & VM_WRITE) !== 0 };
        d.pt.set(p.addr / PAGE_SIZE, x);
        trace_dev_map(ctx, x, x.write, k.bus.count, false);
      });
      mutex_unlock(d.mutex);
    }
    up_read(mm.mmap_lock);
    yield* delay(dmaLatency, 'gpu:migrate_copy');
    // Read the range back through the device table, as dmirror does.
    for (let a = start; a < end; a += PAGE_SIZE) {
      const x = d.pt.get(a / PAGE_SIZE);
      if (!x || !k.pgmaps.owner.has(x.pfn)) return { ...res, result: ENOENT };
      res.cpages++;
    }
    return res;
  }

  /** Device pages of [start, end) owned by this device go back to fresh system pages. */
  function* migrate_back(d: Dmirror, vma: VmAreaStruct, start: number, end: number): Co<number> {
    const mv = yield* migrate_vma_setup(k, vma, start, end, 'device', ctx.name);
    const dst = mv.pages.map((p) => {
      const pfn = k.alloc.alloc_page();
      if (pfn < 0) return -1;
      k.mem.mapping[pfn] = MAPPING_ANON;
      k.mem.content[pfn] = k.mem.content[p.src] as number;
      k.emit({ type: 'folio_alloc', time: k.now, actor: ctx.name, pfn, gen: k.mem.gen[pfn] as number, owner: `anon:${vma.vm_mm.owner}`, file: '', index: -1 });
      return pfn;
    });
    for (const p of mv.pages) erase(d, p.addr / PAGE_SIZE);
    migrate_vma_finalize(k, mv, dst, false);
    return dst.filter((x) => x >= 0).length;
  }

  /** dmirror_migrate_to_system(): cpages = pages migrated back. */
  function* migrate_to_host(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
    const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
    const vmas = vmas_for(d, start, end);
    if (IS_ERR(vmas)) return { ...res, result: vmas };
    yield* down_read(d.proc.mm.mmap_lock, 'gpu:migrate_mmap_read_lock');
    for (const vma of vmas) res.cpages += yield* migrate_back(d, vma, Math.max(start, vma.vm_start), Math.min(end, vma.vm_end));
    up_read(d.proc.mm.mmap_lock);
    yield* delay(dmaLatency, 'gpu:migrate_copy');
    return res;
  }

  /**
   * dmirror_exclusive(): each page is faulted in writable, made device-exclusive (the CPU PTE is
   * replaced; the EXCLUSIVE event carries this device as owner, which it ignores) and mapped ATOMIC;
   * the data is read back. cpages = pages made exclusive.
   */
  function* make_exclusive(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
    const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
    const mm = d.proc.mm;
    const vmas = vmas_for(d, start, end);
    if (IS_ERR(vmas)) return { ...res, result: vmas };
    yield* down_read(mm.mmap_lock, 'gpu:exclusive_mmap_read_lock');
    for (let a = start; a < end; a += PAGE_SIZE) {
      const vma = find_vma(mm, a)!;
      const pte = mm.pgtable.get(vpn(a));
      if (!pte_present(pte) || !pte_write(pte)) {
        const f = yield* handle_mm_fault(k, vma, a, FAULT_FLAG_WRITE);
        if (f) { up_read(mm.mmap_lock); return { ...res, result: EFAULT }; }
      }
      const pfn = yield* make_device_exclusive(k, vma, a, ctx.name);
      if (IS_ERR(pfn)) { up_read(mm.mmap_lock); return { ...res, result: pfn }; }
      yield* mutex_lock(d.mutex, ctx.name, 'gpu:exclusive_mutex');
      erase(d, a / PAGE_SIZE);
      const x: Entry = { ...dma_map_translation(ctx, pfn, mm.owner, a), write: true, atomic: true };
      d.pt.set(a / PAGE_SIZE, x);
      trace_dev_map(ctx, x, true, k.bus.count, false);
      mutex_unlock(d.mutex);
      res.tokens.push(k.mem.content[pfn] as number);
      res.cpages++;
    }
    up_read(mm.mmap_lock);
    return res;
  }

  /** dmirror_check_atomic(): EPERM while any page of the range is still mapped ATOMIC. */
  function check_exclusive(d: Dmirror, start: number, end: number): MirrorOpResult {
    for (let a = start; a < end; a += PAGE_SIZE) {
      if (d.pt.get(a / PAGE_SIZE)?.atomic) return { result: EPERM, tokens: [], cpages: 0, faults: 0 };
    }
    return { result: 0, tokens: [], cpages: 0, faults: 0 };
  }

  // dev_pagemap_ops.migrate_to_ram: a CPU touch of a device page brings it back (dmirror_devmem_fault).
  k.pgmaps.ops.set(ctx.name, {
    *migrate_to_ram(_k, vma, addr) {
      const d = mirrors.find((m) => m.proc.mm === vma.vm_mm && !m.closed) ?? mirrors.find((m) => m.proc.mm === vma.vm_mm);
      if (!d) return VM_FAULT_SIGBUS;
      yield* migrate_back(d, vma, addr, addr + PAGE_SIZE);
      return 0;
    },
  });

  /** dmirror_snapshot(): hmm_range_fault without faulting, under a temporary notifier. */
  function* snapshot(d: Dmirror, start: number, end: number): Co<MirrorOpResult> {
    const res: MirrorOpResult = { result: 0, tokens: [], cpages: 0, faults: 0 };
    const mm = d.proc.mm;
    const names: string[] = [];
    for (let a = start; a < end; a += FAULT_WINDOW * PAGE_SIZE) {
      const e = Math.min(end, a + FAULT_WINDOW * PAGE_SIZE);
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

  function* mirror(proc: Process, addr: number, length: number, name: string): Co<MemoryRegion | Errno> {
    const d: Dmirror = {
      device: ctx.name, length, name, proc, addr, mutex: new Mutex(`${ctx.name}.${name}.mutex`), pt: new Map(), closed: false,
      notifier: null as unknown as MmuIntervalNotifier,
    };
    d.notifier = new MmuIntervalNotifier(proc.mm, 0, TASK_SIZE, { invalidate: (s, r, c) => invalidate(d, s, r, c) }, ctx.name);
    const err = mmu_interval_notifier_insert(k, d.notifier);
    if (err) return err;
    mirrors.push(d);
    return d;
  }

  function* unmirror(m: MemoryRegion): Co<0 | Errno> {
    const d = m as Dmirror;
    if (d.closed) return EINVAL;
    d.closed = true;
    yield* mmu_interval_notifier_remove(k, d.notifier);
    for (const v of [...d.pt.keys()]) erase(d, v);
    return 0;
  }

  function* mirror_op(m: MemoryRegion, op: MirrorOpName, offset: number, length: number, token: number, wr: string): Co<MirrorOpResult> {
    const d = m as Dmirror;
    const start = d.addr + offset, end = start + length;
    // dmirror's ioctl argument checks.
    if (d.closed || start % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0 || end > TASK_SIZE) {
      return { result: EINVAL, tokens: [], cpages: 0, faults: 0 };
    }
    switch (op) {
      case 'gpu_read': return yield* copy(d, start, end, false, token, wr);
      case 'gpu_write': return yield* copy(d, start, end, true, token, wr);
      case 'snapshot': return yield* snapshot(d, start, end);
      case 'migrate_to_device': return yield* migrate_to_device(d, start, end);
      case 'migrate_to_host': return yield* migrate_to_host(d, start, end);
      case 'make_exclusive': return yield* make_exclusive(d, start, end);
      case 'check_exclusive': return check_exclusive(d, start, end);
      default: return { result: EINVAL, tokens: [], cpages: 0, faults: 0 };
    }
  }

  function* release_process(proc: Process): Co {
    for (const d of mirrors) if (d.proc === proc && !d.closed) yield* unmirror(d);
  }

  function fingerprint(): number {
    const h = new Hasher();
    for (const d of mirrors) {
      h.add(d.closed ? 1 : 0).add(d.notifier.invalidate_seq);
      for (const [v, x] of [...d.pt].sort((a, b) => a[0] - b[0])) h.add(v).add(x.pfn).add(x.gen).add(x.write ? 1 : 0);
    }
    return h.value;
  }

  return { mirror, unmirror, mirror_op, release_process, fingerprint };
}

export const gpu_hmm: DeviceModel = {
  name: 'gpu-hmm',
  description: "a GPU mirroring through HMM as lib/test_hmm.c's dmirror: interval notifier over the address space, faults with retry in 32-page windows, no page references",
  params: {
    dmaLatency: { kind: 'time', default: 1000, doc: 'one READ/WRITE copy, spread over its pages' },
    faultLatency: { kind: 'time', default: 20_000, doc: 'one fault window: between the hmm_range_fault snapshot and the mirror mutex (tens of µs per GPU fault batch, Zheng et al., HPCA 2016)' },
    invalidateLatency: { kind: 'time', default: 1_000, doc: 'erasing device entries and flushing the device TLB in invalidate (≈1 µs, as an IOTLB flush)' },
    skipReadRetry: { kind: 'bool', default: false, doc: 'a buggy driver: installs without mmu_interval_read_retry under its lock' },
    ackBeforeDrain: { kind: 'bool', default: false, doc: 'a buggy device: invalidate returns while a copy is still in flight' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['mirror', 'unmirror', 'gpu_read', 'gpu_write', 'snapshot', 'migrate_to_device', 'migrate_to_host', 'make_exclusive', 'check_exclusive'],
  create,
};
