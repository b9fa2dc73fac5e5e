/** migrate: migrate a range's pages through migrate_pages. */
import { do_migrate_pages } from '../../mm/migrate.js';
import { RANGE, errResult } from './common.js';
import { processOp } from './op.js';

export const migrate = processOp({
  name: 'migrate',
  doc: 'migrate_pages() of the range, as NUMA balancing or move_pages do: notifier first, then the reference check',
  produces: 'result',
  results: ['ok', 'EBUSY', 'ENOMEM', 'EINVAL'],
  fields: RANGE,
  *exec(x, op) {
    return { result: errResult(yield* do_migrate_pages(x.k, x.proc.mm, x.addrOf(op.addr, op.offset), op.length)) };
  },
});
