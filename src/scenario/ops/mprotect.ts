/** mprotect: change the protection of a range. */
import { do_mprotect } from '../../mm/mprotect.js';
import { PROT, RANGE, errResult } from './common.js';
import { F, processOp } from './op.js';

export const mprotect = processOp({
  name: 'mprotect',
  doc: 'mprotect(2) of a range',
  produces: 'result',
  results: ['ok', 'EINVAL', 'ENOMEM'],
  fields: { ...RANGE, prot: F.enum(PROT, 'the new protection', { required: true }) },
  *exec(x, op) {
    return { result: errResult(yield* do_mprotect(x.k, x.proc.mm, x.addrOf(op.addr, op.offset), op.length, op.prot)) };
  },
});
