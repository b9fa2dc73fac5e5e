/** setlease: take a file lease, with the ops to run when it is broken. */
import { inodeOf } from '../run/state.js';
import { F, processOp, word } from './op.js';

export const setlease = processOp({
  name: 'setlease',
  doc: 'fcntl(F_SETLEASE); when the lease is broken, `onBreak` runs as a new thread of the holder\'s process',
  produces: 'result',
  results: ['ok'],
  fields: {
    file: F.file('the file', { required: true }),
    type: F.enum([
      word('read', 'F_RDLCK'), word('write', 'F_WRLCK'), word('layout', 'a layout lease (the 2019 RFC; under layout-lease it admits long-term pins)'),
    ], 'the lease type', { required: true }),
    onBreak: F.ops('ops run from the moment of the break, as a new thread of the lease holder\'s process'),
  },
  *exec(x, op) {
    const inode = inodeOf(x.k, op.file);
    const handler = op.onBreak;
    // The break runs `onBreak` as a new thread of the lease holder's process.
    x.k.leases.setlease(inode, x.proc.name, op.type, handler && handler.length ? () => x.spawnThread(`${x.actor}~break`, handler) : null);
    return { result: 'ok' };
  },
});
