/** munmap: unmap an address range. */
import { do_munmap } from '../../mm/mmap.js';
import { RANGE, errResult } from './common.js';
import { processOp } from './op.js';

export const munmap = processOp({
  name: 'munmap',
  doc: 'munmap(2) of a range',
  produces: 'result',
  results: ['ok', 'EINVAL'],
  fields: RANGE,
  *exec(x, op) {
    return { result: errResult(yield* do_munmap(x.k, x.proc.mm, x.addrOf(op.addr, op.offset), op.length)) };
  },
});
