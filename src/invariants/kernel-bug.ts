/** kernel-bug (docs/invariants.md): a modelled BUG_ON/VM_BUG_ON_* fired; the real kernel would have crashed. */
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  return {
    on: {
      kernel_bug(ev) {
        ctx.report({ kind: 'kernel-bug', time: ev.time, actor: ev.actor, pfn: ev.pfn, message: `kernel BUG at ${ev.site}: ${ev.dump}`, chain: [toChain(ev)] });
      },
    },
    finish(): void {},
    reset(): void {},
  };
}

export const kernel_bug: Checker = { kind: 'kernel-bug', description: 'a modelled BUG_ON fired: the real kernel crashes here', create };
