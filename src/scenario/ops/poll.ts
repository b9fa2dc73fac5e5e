/** poll: wait for the completion of a device op posted with `wait: false`. */
import { wait_event } from '../../engine/waitqueue.js';
import { PINSIM_BUG } from '../../mm/mmdebug.js';
import { F, processOp } from './op.js';

export const poll = processOp({
  name: 'poll',
  doc: 'ibv_poll_cq() for a posted device op: waits for its completion and takes its result (and what it read)',
  produces: 'result',
  observes: true,
  results: ['the posted op\'s result'],
  fields: { wr: F.wr('the `as` of a device op posted with "wait": false', { required: true }) },
  *exec(x, op) {
    const c = x.st.posted.get(op.wr);
    if (!c) {
      // The op failed before it could be posted (a failed dependency): poll reports that result.
      const failed = x.st.results[op.wr];
      if (failed === undefined) return PINSIM_BUG(`poll: "${op.wr}" names no posted device op`);
      return { result: failed };
    }
    const t0 = x.k.now;
    yield* wait_event(c.wq, () => c.done, 'op:poll');
    return { result: c.result, tokens: c.tokens, waitNs: x.k.now - t0, ...(c.text !== undefined ? { text: c.text } : {}) };
  },
});
