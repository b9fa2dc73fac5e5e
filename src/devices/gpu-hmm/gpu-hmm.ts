/**
 * gpu-hmm: a GPU mirroring a process's address space through HMM, as lib/test_hmm.c's dmirror
 * driver does. `mirror` opens a mirror (one interval notifier over the whole address space; a
 * device page table holding no page references), and the mirror's ops are dmirror's ioctls: READ
 * and WRITE with fault rounds, SNAPSHOT (dmirror.ts), MIGRATE_TO_DEV/TO_SYS and the device-private
 * pages' migrate_to_ram (migrate.ts), EXCLUSIVE and CHECK_EXCLUSIVE (exclusive.ts). Knobs:
 * skipReadRetry (a driver that installs without read_retry under its lock), ackBeforeDrain (a
 * device whose copy keeps going after invalidate returned) and ignoreBlockable (a driver that sleeps
 * in a non-blockable invalidation instead of refusing it).
 * This file is the model's descriptor and the driver's file operations.
 * Kernel: lib/test_hmm.c dmirror_fops_open(), dmirror_fops_release(), dmirror_fops_unlocked_ioctl().
 */
import type { Co } from '../../engine/actor.js';
import { Hasher } from '../../engine/hash.js';
import { EINVAL, type Errno } from '../../mm/errno.js';
import type { DevPagemapOps } from '../../mm/memremap.js';
import type { Process } from '../../mm/kernel.js';
import { TASK_SIZE } from '../../mm/mmap.js';
import { mmu_interval_notifier_insert, mmu_interval_notifier_remove } from '../../mm/mmu_interval_notifier.js';
import { PAGE_SIZE } from '../../mm/types.js';
import {
  COMMON_DEVICE_PARAMS, type DeviceCtx, type DeviceInstance, type DeviceModel, type MemoryRegion, type MirrorOpName, type MirrorOpResult,
} from '../device.js';
import { Dmirror, DmirrorDevice, dmirror_rw, dmirror_snapshot } from './dmirror.js';
import { dmirror_check_atomic, dmirror_exclusive } from './exclusive.js';
import { dmirror_devmem_ops, dmirror_migrate_to_device, dmirror_migrate_to_system } from './migrate.js';

/**
 * dmirror_fops_open() - open a mirror of @proc's address space: subscribe its interval notifier.
 * Return: the mirror, or EINVAL when the mm is gone. Kernel: lib/test_hmm.c dmirror_fops_open().
 */
function dmirror_fops_open(dev: DmirrorDevice, proc: Process, addr: number, length: number, name: string): MemoryRegion | Errno {
  const d = new Dmirror(dev, proc, addr, length, name);
  const err = mmu_interval_notifier_insert(dev.ctx.k, d.notifier);
  if (err) return err;
  dev.mirrors.push(d);
  return d;
}

/**
 * dmirror_fops_release() - close the mirror: unsubscribe, then drop every translation it holds.
 * Context: may sleep (an invalidation in progress finishes first).
 * Return: 0, or EINVAL for a mirror already closed. Kernel: lib/test_hmm.c dmirror_fops_release().
 */
function* dmirror_fops_release(d: Dmirror): Co<0 | Errno> {
  if (d.closed) return EINVAL;
  d.closed = true;
  yield* mmu_interval_notifier_remove(d.dev.ctx.k, d.notifier);
  d.table.eraseRange(0, Infinity);
  return 0;
}

/**
 * dmirror_ioctl() - one of dmirror's ioctls over [@offset, @offset + @length) of the mirror, after
 * its argument checks (page-aligned, inside the address space, mirror open).
 * Context: may sleep. Return: the op's result and counters; EINVAL for bad arguments.
 * Kernel: lib/test_hmm.c dmirror_fops_unlocked_ioctl().
 */
function* dmirror_ioctl(d: Dmirror, op: MirrorOpName, offset: number, length: number, token: number, wr: string): Co<MirrorOpResult> {
  const start = d.addr + offset, end = start + length;
  if (d.closed || start % PAGE_SIZE !== 0 || length % PAGE_SIZE !== 0 || end > TASK_SIZE) {
    return { result: EINVAL, tokens: [], cpages: 0, faults: 0 };
  }
  switch (op) {
    case 'gpu_read': return yield* dmirror_rw(d, start, end, false, token, wr);
    case 'gpu_write': return yield* dmirror_rw(d, start, end, true, token, wr);
    case 'snapshot': return yield* dmirror_snapshot(d, start, end);
    case 'migrate_to_device': return yield* dmirror_migrate_to_device(d, start, end);
    case 'migrate_to_host': return yield* dmirror_migrate_to_system(d, start, end);
    case 'make_exclusive': return yield* dmirror_exclusive(d, start, end);
    case 'check_exclusive': return dmirror_check_atomic(d, start, end);
    default: return { result: EINVAL, tokens: [], cpages: 0, faults: 0 };
  }
}

/** The device's state for the explorer's state cache: each mirror's state, seq and table. */
function dmirror_fingerprint(dev: DmirrorDevice, fromScratch = false): number {
  const h = new Hasher();
  for (const d of dev.mirrors) {
    h.add(d.closed ? 1 : 0).add(d.notifier.invalidate_seq);
    d.table.fingerprint(h, fromScratch);
  }
  return h.value;
}

/** One gpu-hmm: the dmirror device and the owner of its device-private pages. */
class GpuHmm implements DeviceInstance {
  readonly dev: DmirrorDevice;
  /** The device-private pages' owner: a CPU touch of one brings it back (dmirror_devmem_fault). */
  readonly devmem: DevPagemapOps;

  constructor(ctx: DeviceCtx) {
    this.dev = new DmirrorDevice(ctx);
    this.devmem = dmirror_devmem_ops(this.dev);
    ctx.k.pgmaps.ops.set(ctx.name, this.devmem);
  }

  /** Opening the mirror takes no time the CPU side could observe. */
  *mirror(proc: Process, addr: number, length: number, name: string): Co<MemoryRegion | Errno> {
    return dmirror_fops_open(this.dev, proc, addr, length, name);
  }

  unmirror(m: MemoryRegion): Co<0 | Errno> {
    return dmirror_fops_release(m as Dmirror);
  }

  mirror_op(m: MemoryRegion, op: MirrorOpName, offset: number, length: number, token: number, wr: string): Co<MirrorOpResult> {
    return dmirror_ioctl(m as Dmirror, op, offset, length, token, wr);
  }

  *release_process(proc: Process): Co {
    for (const d of this.dev.mirrors) if (d.proc === proc && !d.closed) yield* dmirror_fops_release(d);
  }

  fingerprint(fromScratch?: boolean): number {
    return dmirror_fingerprint(this.dev, fromScratch);
  }

  /**
   * As create() made it, its pages' owner registered again with the reset kernel (the context's
   * PRNG and IOMMU domain are reset by the caller).
   */
  reset(): void {
    this.dev.reset();
    this.dev.ctx.k.pgmaps.ops.set(this.dev.ctx.name, this.devmem);
  }
}

function create(ctx: DeviceCtx): DeviceInstance {
  return new GpuHmm(ctx);
}

export const gpu_hmm: DeviceModel = {
  name: 'gpu-hmm',
  description: "a GPU mirroring through HMM as lib/test_hmm.c's dmirror: interval notifier over the address space, faults with retry in 32-page windows, no page references",
  params: {
    dmaLatency: { kind: 'time', default: 1000, doc: 'one READ/WRITE copy, spread over its pages (1 µs)' },
    faultLatency: { kind: 'time', default: 20_000, doc: 'one fault window: between the hmm_range_fault snapshot and the mirror mutex (tens of µs per GPU fault batch)' },
    invalidateLatency: { kind: 'time', default: 1_000, doc: 'erasing device entries and flushing the device TLB in invalidate (≈1 µs)' },
    skipReadRetry: { kind: 'bool', default: false, doc: 'a buggy driver: installs without mmu_interval_read_retry under its lock' },
    ackBeforeDrain: { kind: 'bool', default: false, doc: 'a buggy device: invalidate returns while a copy is still in flight' },
    ignoreBlockable: { kind: 'bool', default: false, doc: 'a buggy driver: invalidate takes its mutex and waits for the device TLB flush without checking mmu_notifier_range_blockable(), so it sleeps in the OOM reaper\'s non-blockable range' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['mirror', 'unmirror', 'gpu_read', 'gpu_write', 'snapshot', 'migrate_to_device', 'migrate_to_host', 'make_exclusive', 'check_exclusive'],
  create,
};
