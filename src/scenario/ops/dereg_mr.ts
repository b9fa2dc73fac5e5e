/** dereg_mr: deregister an MR (ibv_dereg_mr). */
import { regionControl } from '../run/device.js';
import { F, deviceOp } from './op.js';

export const dereg_mr = deviceOp({
  name: 'dereg_mr',
  doc: 'ibv_dereg_mr(): the NIC releases the MR (a gup-nic unpins with dirty)',
  produces: 'result',
  results: ['ok', 'EINVAL'],
  fields: { mr: F.mr('the `as` of the reg_mr', { required: true }) },
  exec: (x, op) => regionControl(x, op, op.mr, (inst, mr) => (inst.dereg_mr ? inst.dereg_mr(mr) : null)),
});
