/**
 * The GPU's ops on a mirrored range, as lib/test_hmm.c's dmirror ioctls: read, write, migrate to and
 * from device memory, device-exclusive access and its check, and a snapshot of the CPU page tables.
 * Each returns an errno name with dmirror's counters (`cpages`, `faults`) in the result's `ops`.
 */
import type { Co } from '../../engine/actor.js';
import type { DeviceInstance, MemoryRegion, MirrorOpName } from '../../devices/device.js';
import { EINVAL } from '../../mm/errno.js';
import { complete, newCompletion, postToDevice, regionOf, type DeviceOpResult } from '../run/device.js';
import type { Completion, Exec, OpCtx } from '../run/state.js';
import { INNER, errResult } from './common.js';
import { F, deviceOp } from './op.js';

const fields = { mirror: F.mirror('the `as` of the mirror', { required: true }), ...INNER };

type MirrorOp = { op: MirrorOpName; mirror: string; offset: number; length: number; as?: string; wait?: boolean };

/** Run dmirror's @name ioctl on the mirror's range. */
function* mirrorOp(x: OpCtx, op: MirrorOp): Co<Exec> {
  const { mr: m, dev, inst } = regionOf(x.st, op.mirror);
  const token = op.op === 'gpu_write' ? x.k.new_content(x.name) : -1;
  const c = newCompletion(dev);
  postToDevice(x.st, dev, mirrorBody(x, op, inst, m, token, c), c);
  // The body sets the completion's counters (and text) before it completes.
  return yield* complete(x, op, c, () => {
    const counters = { cpages: c.counters?.['cpages'] ?? 0, faults: c.counters?.['faults'] ?? 0 };
    return c.text !== undefined ? { counters, text: c.text } : { counters };
  });
}

/** The GPU's side of the ioctl: dmirror's counters (and a snapshot's text) go on the op's completion. */
function* mirrorBody(x: OpCtx, op: MirrorOp, inst: DeviceInstance, m: MemoryRegion, token: number, c: Completion): Co<DeviceOpResult> {
  if (!inst.mirror_op) return { result: EINVAL, tokens: [] };
  const r = yield* inst.mirror_op(m, op.op, op.offset, op.length, token, x.name);
  c.counters = { cpages: r.cpages, faults: r.faults };
  if (r.snapshot !== undefined) c.text = r.snapshot;
  return { result: errResult(r.result), tokens: r.tokens };
}

const results = ['ok', 'EFAULT', 'EINVAL', 'EBUSY', 'ENOENT', 'EPERM'];

export const gpu_read = deviceOp({
  name: 'gpu_read', doc: 'HMM_DMIRROR_READ: the GPU reads the range (faulting missing pages in); its `as` records what it saw',
  produces: 'read', observes: true, results, fields, exec: mirrorOp,
});
export const gpu_write = deviceOp({
  name: 'gpu_write', doc: 'HMM_DMIRROR_WRITE: the GPU writes new content (named by `as`) into the range',
  produces: 'write', results, fields, exec: mirrorOp,
});
export const migrate_to_device = deviceOp({
  name: 'migrate_to_device', doc: 'HMM_DMIRROR_MIGRATE_TO_DEV: move the range\'s anonymous pages into device-private memory (migrate_vma)',
  produces: 'result', results, fields, exec: mirrorOp,
});
export const migrate_to_host = deviceOp({
  name: 'migrate_to_host', doc: 'HMM_DMIRROR_MIGRATE_TO_SYS: bring device-private pages back to system memory',
  produces: 'result', results, fields, exec: mirrorOp,
});
export const make_exclusive = deviceOp({
  name: 'make_exclusive', doc: 'HMM_DMIRROR_EXCLUSIVE: map the range behind device-exclusive entries (make_device_exclusive); its `as` records what it read',
  produces: 'read', observes: true, results, fields, exec: mirrorOp,
});
export const check_exclusive = deviceOp({
  name: 'check_exclusive', doc: 'HMM_DMIRROR_CHECK_EXCLUSIVE: EPERM unless every page is still device-exclusive',
  produces: 'result', results, fields, exec: mirrorOp,
});
export const snapshot = deviceOp({
  name: 'snapshot', doc: 'HMM_DMIRROR_SNAPSHOT: hmm_range_fault without faulting; its `as` records one state per page (READ, WRITE, NONE, …) in `observed`',
  produces: 'read', results, fields, exec: mirrorOp,
});
