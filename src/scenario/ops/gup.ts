/** gup / unpin: a kernel GUP user that is not a device (O_DIRECT, io_uring fixed buffers, vmsplice). */
import { IS_ERR, EINVAL } from '../../mm/errno.js';
import { get_user_pages_unlocked, gup_flags_for_era, unpin_user_pages_dirty_lock } from '../../mm/gup.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import { PAGE_SIZE } from '../../mm/types.js';
import { RANGE } from './common.js';
import { F, processOp, word } from './op.js';

export const gup = processOp({
  name: 'gup',
  doc: 'get_user_pages / pin_user_pages on the range by a kernel GUP user; its `as` names the references held',
  produces: 'pins',
  results: ['ok', 'EFAULT', 'EINVAL', 'ENOMEM', 'EOPNOTSUPP', 'EPERM'],
  fields: {
    ...RANGE,
    flags: F.flags([
      word('get', 'FOLL_GET'), word('pin', 'FOLL_PIN (FOLL_GET before 5.7)'), word('longterm', 'FOLL_LONGTERM'),
      word('write', 'FOLL_WRITE'), word('force', 'FOLL_FORCE'),
    ], 'GUP flags; neither get nor pin means FOLL_GET'),
  },
  *exec(x, op) {
    const w = new Set(op.flags);
    const flags = gup_flags_for_era(x.k, w.has('get'), w.has('pin'), w.has('longterm'), w.has('write'), w.has('force'));
    if (IS_ERR(flags)) return { result: flags };
    const start = x.addrOf(op.addr, op.offset);
    const first = Math.floor(start / PAGE_SIZE);
    const npages = op.length === 0 ? 0 : Math.ceil((start + op.length) / PAGE_SIZE) - first;
    const ref = yield* get_user_pages_unlocked(x.k, x.proc.mm, first * PAGE_SIZE, npages, flags, x.actor);
    if (IS_ERR(ref)) return { result: ref };
    x.st.setName(op.as, { kind: 'pins', ref, released: false, addr: start, length: op.length });
    return { result: 'ok' };
  },
});

export const unpin = processOp({
  name: 'unpin',
  doc: 'unpin_user_pages_dirty_lock / put_page of the references a gup holds',
  produces: 'result',
  results: ['ok', 'EINVAL'],
  fields: {
    pins: F.pins('the `as` of the gup', { required: true }),
    dirty: F.bool('mark the pages dirty first (set_page_dirty_lock), as after a DMA write'),
  },
  *exec(x, op) {
    const v = x.st.names.get(op.pins);
    if (v?.kind !== 'pins') return PINSIM_BUG(`"${op.pins}" names no pins`);
    if (v.released) return { result: EINVAL };
    v.released = true;
    yield* unpin_user_pages_dirty_lock(x.k, v.ref, op.dirty ?? false);
    return { result: 'ok' };
  },
});
