/** advise_mr: prefetch a range of an ODP MR (ibv_advise_mr). */
import { regionControl } from '../run/device.js';
import { INNER } from './common.js';
import { F, deviceOp, word } from './op.js';

export const advise_mr = deviceOp({
  name: 'advise_mr',
  doc: 'ibv_advise_mr(): prefetch a range of an ODP MR',
  produces: 'result',
  results: ['ok', 'EINVAL', 'EPERM', 'EFAULT'],
  fields: {
    mr: F.mr('the `as` of the reg_mr', { required: true }),
    advice: F.enum([
      word('prefetch', 'IBV_ADVISE_MR_ADVICE_PREFETCH'), word('prefetch_write', 'IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE'),
      word('prefetch_no_fault', 'IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT'),
    ], 'the advice', { required: true }),
    ...INNER,
    flush: F.bool('IBV_ADVISE_MR_FLAG_FLUSH: wait for the prefetch to finish'),
  },
  exec: (x, op) => regionControl(x, op, op.mr, (inst, mr) => (inst.advise_mr ? inst.advise_mr(mr, op.advice, op.offset, op.length) : null)),
});
