/** madvise: advise the kernel about a range. */
import { do_madvise } from '../../mm/madvise.js';
import { RANGE, errResult } from './common.js';
import { F, processOp, word } from './op.js';

export const madvise = processOp({
  name: 'madvise',
  doc: 'madvise(2) of a range',
  produces: 'result',
  results: ['ok', 'EINVAL', 'ENOMEM', 'EACCES', 'EAGAIN'],
  fields: {
    ...RANGE,
    advice: F.enum([
      word('dontneed', 'MADV_DONTNEED: zap the range; anonymous pages re-fault as new zero pages'),
      word('free', 'MADV_FREE (private anonymous memory): the pages stay mapped but clean; reclaim may discard one not written since'),
      word('remove', 'MADV_REMOVE (shared writable mappings): punch a hole in the file behind the range'),
      word('dontfork', 'MADV_DONTFORK: the child of a fork does not get the range'),
      word('dofork', 'MADV_DOFORK: undo MADV_DONTFORK'),
      word('hugepage', 'MADV_HUGEPAGE: the range may use THP (under kernel.thp "madvise")'),
      word('nohugepage', 'MADV_NOHUGEPAGE: the range may not use THP'),
      word('collapse', 'MADV_COLLAPSE: collapse each 2 MiB-aligned range inside it into a THP now (6.1+; EAGAIN from 6.3, EINVAL before, when a page is pinned)'),
    ], 'the advice', { required: true }),
  },
  *exec(x, op) {
    return { result: errResult(yield* do_madvise(x.k, x.proc.mm, x.addrOf(op.addr, op.offset), op.length, op.advice)) };
  },
});
