/** fsync: write back a file. */
import { vfs_fsync_range } from '../../mm/fs/read_write.js';
import { inodeOf } from '../run/state.js';
import { errResult } from './common.js';
import { F, processOp } from './op.js';

export const fsync = processOp({
  name: 'fsync',
  doc: 'fsync(2): write back the file\'s dirty pages',
  produces: 'result',
  results: ['ok'],
  fields: { file: F.file('the file', { required: true }) },
  *exec(x, op) {
    return { result: errResult(yield* vfs_fsync_range(x.k, inodeOf(x.k, op.file))) };
  },
});
