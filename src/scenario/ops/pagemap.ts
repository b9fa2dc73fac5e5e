/** pagemap: how the page at an address is mapped now. */
import { delay } from '../../engine/actor.js';
import { pagemap_read } from '../../mm/pagemap.js';
import { F, processOp } from './op.js';

export const pagemap = processOp({
  name: 'pagemap',
  doc: 'records in `observed[as]` how the page at the address is mapped now: "pmd", "pud", "pte" or "none" (no present entry: also device-private and device-exclusive entries), and in `ops[as]` the order of its folio (absent when "none")',
  produces: 'read',
  observes: true,
  results: ['ok'],
  fields: {
    addr: F.addr('the address: a number ("0x…" allowed) or the `as` of an mmap or mremap', { required: true }),
    offset: F.size('added to `addr`'),
  },
  *exec(x, op) {
    // A pread of /proc/PID/pagemap: a syscall's time, then the entry as it is at that instant.
    yield* delay(x.k.timing.syscall, 'pagemap:enter');
    const e = pagemap_read(x.k, x.proc.mm, x.addrOf(op.addr, op.offset));
    return e.order === undefined ? { result: 'ok', text: e.level } : { result: 'ok', text: e.level, counters: { order: e.order } };
  },
});
