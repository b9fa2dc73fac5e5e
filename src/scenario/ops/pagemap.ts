/** pagemap: how the page at an address is mapped now. Part of the format, not built yet. */
import { F, processOp } from './op.js';

export const pagemap = processOp({
  name: 'pagemap',
  doc: 'records in `observed[as]` how the page at the address is mapped now: "pmd", "pud", "pte" or "none", and in `ops[as]` the order of its folio',
  produces: 'read',
  observes: true,
  results: ['ok'],
  fields: {
    addr: F.addr('the address: a number ("0x…" allowed) or the `as` of an mmap or mremap', { required: true }),
    offset: F.size('added to `addr`'),
  },
});
