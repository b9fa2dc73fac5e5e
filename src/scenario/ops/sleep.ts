/** sleep: the actor waits. */
import { delay } from '../../engine/actor.js';
import { F, processOp } from './op.js';

export const sleep = processOp({
  name: 'sleep',
  doc: 'nanosleep(2): the actor waits for `duration`',
  produces: 'result',
  results: ['ok', 'EINTR'],
  fields: { duration: F.time('how long', { required: true }) },
  *exec(_x, op) {
    yield* delay(op.duration, 'op:sleep');
    return { result: 'ok' };
  },
});
