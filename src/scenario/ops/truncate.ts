/** ftruncate / truncate: set a file's size. */
import { do_truncate } from '../../mm/truncate.js';
import { inodeOf } from '../run/state.js';
import { errResult } from './common.js';
import { F, processOp } from './op.js';

const fields = {
  file: F.file('the file', { required: true }),
  length: F.size('the new size', { required: true }),
};
const results = ['ok', 'EINTR', 'ETXTBSY'];

export const ftruncate = processOp({
  name: 'ftruncate',
  doc: 'ftruncate(2): set the file\'s size; pages beyond it leave the page cache',
  produces: 'result',
  results,
  fields,
  *exec(x, op) {
    return { result: errResult(yield* do_truncate(x.k, inodeOf(x.k, op.file), op.length)) };
  },
});

export const truncate = processOp({
  name: 'truncate',
  doc: 'truncate(2): as ftruncate, by path',
  produces: 'result',
  results,
  fields,
  *exec(x, op) {
    return { result: errResult(yield* do_truncate(x.k, inodeOf(x.k, op.file), op.length)) };
  },
});
