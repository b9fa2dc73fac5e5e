/** fork: the actor's process forks; the child is named by `as`. */
import { do_fork } from '../../mm/fork.js';
import { processOp } from './op.js';

export const fork = processOp({
  name: 'fork',
  doc: 'fork(2); its `as` names the child process, which actors may run in',
  produces: 'process',
  results: ['ok', 'ENOMEM'],
  fields: {},
  *exec(x, op) {
    const child = yield* do_fork(x.k, x.proc, op.as ?? `${x.proc.name}:child`);
    if (!child) return { result: 'ENOMEM' };
    x.st.setName(op.as, { kind: 'value' });
    return { result: 'ok' };
  },
});
