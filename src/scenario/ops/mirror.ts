/** mirror / unmirror: a GPU starts and stops mirroring a range of a process (dmirror's open/close). */
import type { DeviceInstance, MemoryRegion } from '../../devices/device.js';
import type { Co } from '../../engine/actor.js';
import { EINVAL, IS_ERR } from '../../mm/errno.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import { complete, postToDevice, regionControl, type DeviceOpResult } from '../run/device.js';
import type { OpCtx } from '../run/state.js';
import { RANGE } from './common.js';
import { F, deviceOp } from './op.js';

export const mirror = deviceOp({
  name: 'mirror',
  doc: 'the GPU mirrors the range through HMM (an interval notifier over the address space); its `as` names the mirror',
  produces: 'mirror',
  results: ['ok', 'EINVAL', 'ENOMEM'],
  fields: { device: F.device('the GPU', { required: true }), ...RANGE },
  *exec(x, op) {
    const st = x.st;
    const slot = st.devices.get(op.device) ?? PINSIM_BUG(`no device "${op.device}"`);
    const inst = slot.inst;
    if (!inst.mirror) return { result: EINVAL };
    const addr = x.addrOf(op.addr, op.offset);
    const made: { handle: MemoryRegion | null } = { handle: null };
    const c = postToDevice(st, op.device, mirrorBody(x, inst, op, addr, made));
    return yield* complete(x, op, c, () => {
      if (made.handle) st.setName(op.as, { kind: 'mr', mr: made.handle });
      return {};
    });
  },
});

/** The GPU's side of `mirror`: dmirror's open; a posted op names the mirror as soon as it exists. */
function* mirrorBody(x: OpCtx, inst: DeviceInstance, op: { device: string; length: number; as?: string; wait?: boolean },
  addr: number, made: { handle: MemoryRegion | null }): Co<DeviceOpResult> {
  const st = x.st;
  if (!inst.mirror) return PINSIM_BUG(`device ${op.device} lost its mirror method`);
  const r = yield* inst.mirror(x.proc, addr, op.length, x.name);
  if (IS_ERR(r)) return { result: r, tokens: [] };
  made.handle = r;
  st.mrDevice.set(r, op.device);
  if (op.wait === false) st.setName(op.as, { kind: 'mr', mr: r });
  return { result: 'ok', tokens: [] };
}

export const unmirror = deviceOp({
  name: 'unmirror',
  doc: 'the GPU stops mirroring (dmirror\'s release: the interval notifier is removed)',
  produces: 'result',
  results: ['ok', 'EINVAL'],
  fields: { mirror: F.mirror('the `as` of the mirror', { required: true }) },
  exec: (x, op) => regionControl(x, op, op.mirror, (inst, m) => (inst.unmirror ? inst.unmirror(m) : null)),
});
