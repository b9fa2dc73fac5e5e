/** writeback_now: run the flusher now. */
import { write_cache_pages } from '../../mm/page-writeback.js';
import { inodeOf } from '../run/state.js';
import { F, processOp } from './op.js';

export const writeback_now = processOp({
  name: 'writeback_now',
  doc: 'write back dirty page-cache pages now (of `file`, else of every file), as the flusher threads do',
  produces: 'result',
  results: ['ok'],
  fields: { file: F.file('the file; every file without it') },
  *exec(x, op) {
    const files = op.file ? [inodeOf(x.k, op.file)] : [...x.k.inodes.values()];
    for (const f of files) yield* write_cache_pages(x.k, f, 0, Infinity);
    return { result: 'ok' };
  },
});
