/** reg_mr: register a memory region with a NIC (ibv_reg_mr). */
import type { DeviceInstance, MemoryRegion } from '../../devices/device.js';
import type { Co } from '../../engine/actor.js';
import { EINVAL, IS_ERR } from '../../mm/errno.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import { complete, postToDevice, type DeviceOpResult } from '../run/device.js';
import type { OpCtx } from '../run/state.js';
import { RANGE } from './common.js';
import { F, deviceOp, word } from './op.js';

export const reg_mr = deviceOp({
  name: 'reg_mr',
  doc: 'ibv_reg_mr() of the range on `device` (ib_umem_get for a gup-nic, an ODP MR with its interval notifier for an odp-nic); its `as` names the MR',
  produces: 'mr',
  results: ['ok', 'EFAULT', 'EINVAL', 'ENOMEM', 'EOPNOTSUPP', 'EPERM'],
  fields: {
    device: F.device('the NIC', { required: true }),
    ...RANGE,
    access: F.enum([word('r', 'IB_ACCESS_REMOTE_READ'), word('rw', 'IB_ACCESS_REMOTE_READ|IB_ACCESS_REMOTE_WRITE|IB_ACCESS_LOCAL_WRITE')], 'the MR\'s access', { required: true }),
    hugetlb: F.bool('IB_ACCESS_HUGETLB: an odp-nic maps the MR (hugetlb memory) with huge MTT entries, each zapped whole (5.10+: 2 MiB; before: the VMA\'s huge page size, EINVAL when the VMA at the MR start is not hugetlb); a gup-nic ignores it'),
  },
  *exec(x, op) {
    const st = x.st;
    const slot = st.devices.get(op.device) ?? PINSIM_BUG(`no device "${op.device}"`);
    if (!slot.inst.reg_mr) return { result: EINVAL };
    const addr = x.addrOf(op.addr, op.offset);
    const made: { mr: MemoryRegion | null } = { mr: null };
    const c = postToDevice(st, op.device, regMrBody(x, slot.inst, op, addr, made));
    return yield* complete(x, op, c, () => {
      if (made.mr) st.setName(op.as, { kind: 'mr', mr: made.mr });
      return {};
    });
  },
});

/** The NIC's side of `reg_mr`; a posted op names the MR as soon as it exists. */
function* regMrBody(x: OpCtx, inst: DeviceInstance, op: { device: string; length: number; access: 'r' | 'rw'; hugetlb?: boolean; as?: string; wait?: boolean },
  addr: number, made: { mr: MemoryRegion | null }): Co<DeviceOpResult> {
  const st = x.st;
  if (!inst.reg_mr) return PINSIM_BUG(`device ${op.device} lost its reg_mr method`);
  const r = yield* inst.reg_mr(x.proc, addr, op.length, op.access, x.name, op.hugetlb ? { hugetlb: true } : {});
  if (IS_ERR(r)) return { result: r, tokens: [] };
  made.mr = r;
  st.mrDevice.set(r, op.device);
  if (op.wait === false) st.setName(op.as, { kind: 'mr', mr: r });
  return { result: 'ok', tokens: [] };
}
