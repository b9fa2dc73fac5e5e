/** pread / pwrite: file I/O through the page cache. */
import { IS_ERR } from '../../mm/errno.js';
import { do_pread, do_pwrite } from '../../mm/fs/read_write.js';
import { inodeOf } from '../run/state.js';
import { INNER, errResult } from './common.js';
import { F, processOp } from './op.js';

export const pread = processOp({
  name: 'pread',
  doc: 'pread(2) through the page cache; its `as` records what it read in `observed`',
  produces: 'read',
  observes: true,
  results: ['ok'],
  fields: { file: F.file('the file', { required: true }), ...INNER },
  *exec(x, op) {
    const r = yield* do_pread(x.k, inodeOf(x.k, op.file), op.offset, op.length);
    return IS_ERR(r) ? { result: r } : { result: 'ok', tokens: r };
  },
});

export const pwrite = processOp({
  name: 'pwrite',
  doc: 'pwrite(2) of new content (named by `as`) through the page cache',
  produces: 'write',
  results: ['ok', 'EFBIG', 'ENOMEM'],
  fields: { file: F.file('the file', { required: true }), ...INNER },
  *exec(x, op) {
    return { result: errResult(yield* do_pwrite(x.k, inodeOf(x.k, op.file), op.offset, op.length, x.k.new_content(x.name))) };
  },
});
