/** kernel-warn (docs/invariants.md): a modelled WARN_ON/WARN_ON_ONCE fired; reported with what else the path caused. */
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  return {
    on: {
      kernel_warn(ev) {
        ctx.report({ kind: 'kernel-warn', time: ev.time, actor: ev.actor, pfn: ev.pfn, message: `WARNING at ${ev.site}: ${ev.dump}`, chain: [toChain(ev)] });
      },
    },
    finish(): void {},
    reset(): void {},
  };
}

export const kernel_warn: Checker = { kind: 'kernel-warn', description: 'a modelled WARN_ON fired', create };
