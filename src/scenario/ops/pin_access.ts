/**
 * pin_read / pin_write: what a kernel GUP user does through the references it holds (a pipe reader
 * after vmsplice, O_DIRECT, io_uring fixed buffers). The access itself is mm/pin_access.ts.
 */
import { pin_read as do_pin_read, pin_write as do_pin_write, type PinnedBuffer } from '../../mm/pin_access.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import type { RunState } from '../run/state.js';
import { INNER, errResult } from './common.js';
import { F, processOp } from './op.js';

const fields = { pins: F.pins('the `as` of the gup', { required: true }), ...INNER };

/** The references and range a gup's `as` names. */
function pinnedBuffer(st: RunState, pins: string): PinnedBuffer {
  const v = st.names.get(pins);
  if (v?.kind !== 'pins') return PINSIM_BUG(`"${pins}" names no pins`);
  return { ref: v.ref, addr: v.addr, length: v.length };
}

export const pin_read = processOp({
  name: 'pin_read',
  doc: 'the GUP user reads the pinned pages now (vmsplice\'s pipe reader, an O_DIRECT write to disk); `offset` counts from the gup\'s start',
  produces: 'read',
  observes: true,
  results: ['ok', 'EINVAL'],
  fields,
  *exec(x, op) {
    const r = yield* do_pin_read(x.k, pinnedBuffer(x.st, op.pins), op.offset, op.length, x.name);
    return { result: errResult(r.result), tokens: r.tokens };
  },
});

export const pin_write = processOp({
  name: 'pin_write',
  doc: 'the GUP user writes new content (named by `as`) into the pinned pages (an O_DIRECT read, an io_uring fixed-buffer read); it does not dirty the folio',
  produces: 'write',
  results: ['ok', 'EINVAL'],
  fields,
  *exec(x, op) {
    const r = yield* do_pin_write(x.k, pinnedBuffer(x.st, op.pins), op.offset, op.length, x.k.new_content(x.name), x.name);
    return { result: errResult(r.result), tokens: r.tokens };
  },
});
