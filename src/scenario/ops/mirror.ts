/** mirror / unmirror: a GPU starts and stops mirroring a range of a process (dmirror's open/close). */
import type { MemoryRegion } from '../../devices/device.js';
import { EINVAL, IS_ERR } from '../../mm/errno.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import { complete, postToDevice, regionControl } from '../run/device.js';
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
    const mirrorFn = inst.mirror.bind(inst);
    const addr = x.addrOf(op.addr, op.offset);
    const posted = op.wait === false;
    let handle: MemoryRegion | null = null;
    const c = postToDevice(st, op.device, function* () {
      const r = yield* mirrorFn(x.proc, addr, op.length, x.name);
      if (IS_ERR(r)) return { result: r, tokens: [] };
      handle = r;
      st.mrDevice.set(r, op.device);
      if (posted) st.setName(op.as, { kind: 'mr', mr: r });
      return { result: 'ok', tokens: [] };
    });
    return yield* complete(x, op, c, () => {
      if (handle) st.setName(op.as, { kind: 'mr', mr: handle });
      return {};
    });
  },
});

export const unmirror = deviceOp({
  name: 'unmirror',
  doc: 'the GPU stops mirroring (dmirror\'s release: the interval notifier is removed)',
  produces: 'result',
  results: ['ok', 'EINVAL'],
  fields: { mirror: F.mirror('the `as` of the mirror', { required: true }) },
  exec: (x, op) => regionControl(x, op, op.mirror, (inst, m) => (inst.unmirror ? inst.unmirror(m) : null)),
});
