/** msync: write back a shared file mapping's dirty pages. */
import { do_msync } from '../../mm/fs/read_write.js';
import { RANGE, errResult } from './common.js';
import { F, processOp, word } from './op.js';

export const msync = processOp({
  name: 'msync',
  doc: 'msync(2) of a range',
  produces: 'result',
  results: ['ok', 'EINVAL', 'ENOMEM'],
  fields: {
    ...RANGE,
    flags: F.flags([word('sync', 'MS_SYNC'), word('async', 'MS_ASYNC'), word('invalidate', 'MS_INVALIDATE')], 'msync flags'),
  },
  *exec(x, op) {
    return { result: errResult(yield* do_msync(x.k, x.proc.mm, x.addrOf(op.addr, op.offset), op.length, op.flags)) };
  },
});
