/** exit: the actor's process exits (its other threads die, its mm is torn down, its MRs released). */
import { killProcess } from '../run/kill.js';
import { processOp } from './op.js';

export const exit = processOp({
  name: 'exit',
  doc: 'exit_group(2): the process exits; its other threads die, its mm and then its MRs and mirrors are released',
  produces: 'result',
  results: ['ok'],
  fields: {},
  *exec(x) {
    yield* killProcess(x.st, x.proc, x.st.sched.current!);
    return { result: 'ok', exited: true };
  },
});
