/** mremap: grow, shrink or move a mapping. */
import { IS_ERR } from '../../mm/errno.js';
import { do_mremap } from '../../mm/mremap.js';
import { RANGE } from './common.js';
import { F, processOp, word } from './op.js';

export const mremap = processOp({
  name: 'mremap',
  doc: 'mremap(2) of the mapping at `addr`; its `as` names the (new) address',
  produces: 'address',
  results: ['ok', 'EINVAL', 'EFAULT', 'ENOMEM'],
  fields: {
    ...RANGE,
    newLength: F.size('the new length', { required: true }),
    flags: F.flags([
      word('maymove', 'MREMAP_MAYMOVE'), word('fixed', 'MREMAP_FIXED (with `newAddr`)'),
      word('dontunmap', 'MREMAP_DONTUNMAP (5.7; needs maymove and an unchanged length; private anonymous VMAs only before 5.13): move the pages, leave the old range mapped and empty'),
    ], 'mremap flags'),
    newAddr: F.addr('with `fixed`: where to move the mapping'),
  },
  *exec(x, op) {
    const r = yield* do_mremap(x.k, x.proc.mm, {
      addr: x.addrOf(op.addr, op.offset), old_len: op.length, new_len: op.newLength,
      maymove: op.flags.includes('maymove'), fixed: op.flags.includes('fixed'), dontunmap: op.flags.includes('dontunmap'),
      new_addr: op.newAddr === undefined ? null : x.addrOf(op.newAddr, 0),
    });
    if (IS_ERR(r)) return { result: r };
    x.st.setName(op.as, { kind: 'addr', addr: r });
    return { result: 'ok' };
  },
});
