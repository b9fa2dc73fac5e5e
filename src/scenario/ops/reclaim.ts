/** reclaim: run reclaim now. */
import { reclaim_buffers, shrink_folio_list } from '../../mm/vmscan.js';
import { PAGE_SIZE } from '../../mm/types.js';
import { F, processOp } from './op.js';

export const reclaim = processOp({
  name: 'reclaim',
  doc: 'reclaim now, as kswapd would: free up to `target` of clean, unreferenced file pages, or strip the buffers of clean ones',
  produces: 'result',
  results: ['ok'],
  fields: { target: F.target('a size (rounded up to pages) of clean file pages to free, or "buffers": strip clean pages\' buffers', { required: true }) },
  *exec(x, op) {
    if (op.target === 'buffers') yield* reclaim_buffers(x.k);
    else yield* shrink_folio_list(x.k, Math.ceil(op.target / PAGE_SIZE));
    return { result: 'ok' };
  },
});
