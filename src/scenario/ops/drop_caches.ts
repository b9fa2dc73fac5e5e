/** drop_caches: echo 1 > /proc/sys/vm/drop_caches. */
import { drop_caches as do_drop_caches } from '../../mm/fs/read_write.js';
import { errResult } from './common.js';
import { processOp } from './op.js';

export const drop_caches = processOp({
  name: 'drop_caches',
  doc: 'drop the clean, unmapped page cache (echo 1 > /proc/sys/vm/drop_caches)',
  produces: 'result',
  results: ['ok'],
  fields: {},
  *exec(x) {
    return { result: errResult(yield* do_drop_caches(x.k)) };
  },
});
