/**
 * pin_read / pin_write: what a kernel GUP user does through the references it holds (a pipe reader
 * after vmsplice, O_DIRECT, io_uring fixed buffers). Part of the format, not built yet.
 */
import { INNER } from './common.js';
import { F, processOp } from './op.js';

const fields = { pins: F.pins('the `as` of the gup', { required: true }), ...INNER };

export const pin_read = processOp({
  name: 'pin_read',
  doc: 'the GUP user reads the pinned pages now (vmsplice\'s pipe reader, an O_DIRECT write to disk); `offset` counts from the gup\'s start',
  produces: 'read',
  observes: true,
  results: ['ok', 'EINVAL'],
  fields,
});

export const pin_write = processOp({
  name: 'pin_write',
  doc: 'the GUP user writes new content (named by `as`) into the pinned pages (an O_DIRECT read, an io_uring fixed-buffer read); it does not dirty the folio',
  produces: 'write',
  results: ['ok', 'EINVAL'],
  fields,
});
