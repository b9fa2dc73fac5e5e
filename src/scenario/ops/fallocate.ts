/** fallocate: punch a hole in a file. */
import { do_punch_hole } from '../../mm/fs/read_write.js';
import { inodeOf } from '../run/state.js';
import { INNER, errResult } from './common.js';
import { F, processOp, word } from './op.js';

export const fallocate = processOp({
  name: 'fallocate',
  doc: 'fallocate(2) with FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE: the range\'s pages leave the page cache',
  produces: 'result',
  results: ['ok', 'EINVAL', 'EFBIG', 'EINTR', 'ETXTBSY'],
  fields: {
    file: F.file('the file', { required: true }),
    mode: F.enum([word('punch_hole', 'FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE')], 'the mode', { required: true }),
    ...INNER,
  },
  *exec(x, op) {
    return { result: errResult(yield* do_punch_hole(x.k, inodeOf(x.k, op.file), op.offset, op.length)) };
  },
});
