// @ts-check
/**
 * shadow-mmu: a user-written device that mirrors a process's page tables through a *classic* MMU
 * notifier (struct mmu_notifier with invalidate_range_start and invalidate_range_end, as KVM's
 * shadow MMU and SGI GRU use), not the interval notifiers of pinsim's own models. It holds no page
 * and maps nothing; it only answers the notifier, so a scenario can watch how the kernel pairs its
 * calls. `reg_mr` subscribes it to the process's mm.
 *
 * Knobs: `refuseNonblock` (refuse a non-blockable range with EAGAIN, as a driver whose lock is
 * contended must: the OOM reaper then skips that VMA) and `hasEnd` (implement invalidate_range_end;
 * the API forbids it to a start that can fail, since nothing tells the callback its start failed).
 */
import { COMMON_DEVICE_PARAMS, EAGAIN, mmu_notifier_range_blockable, mmu_notifier_register } from './kit.mjs';

/** @typedef {import('pinsim').DeviceModel} DeviceModel */
/** @typedef {import('pinsim').DeviceCtx} DeviceCtx */
/** @typedef {import('pinsim').DeviceInstance} DeviceInstance */

/**
 * @param {DeviceCtx} ctx
 * @returns {DeviceInstance}
 */
function create(ctx) {
  const refuse = ctx.params['refuseNonblock'] === true;
  const hasEnd = ctx.params['hasEnd'] === true;
  return {
    *reg_mr(proc, _addr, length, _access, _name) {
      /** @type {import('pinsim').MmuNotifierOps} */
      const ops = {
        *invalidate_range_start(_sub, range) {
          return refuse && !mmu_notifier_range_blockable(range) ? EAGAIN : 0;
        },
      };
      if (hasEnd) ops.invalidate_range_end = function* () {};
      const err = mmu_notifier_register({ holder: ctx.name, ops }, proc.mm);
      if (err) return err;
      return { device: ctx.name, length };
    },
  };
}

/** @type {DeviceModel} */
export const shadow_mmu = {
  name: 'shadow-mmu',
  description: 'a device mirroring page tables through a classic mmu_notifier (invalidate_range_start/_end), holding no page',
  params: {
    refuseNonblock: { kind: 'bool', default: false, doc: 'refuse a non-blockable range (EAGAIN)' },
    hasEnd: { kind: 'bool', default: true, doc: 'implement invalidate_range_end' },
    ...COMMON_DEVICE_PARAMS,
  },
  ops: ['reg_mr'],
  create,
};
