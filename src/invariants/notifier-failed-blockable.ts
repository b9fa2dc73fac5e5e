/** notifier-failed-blockable (docs/invariants.md): a notifier callback failed in a blockable range (the kernel WARNs and proceeds). */
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  return {
    on: {
      notifier_sub_done(ev) {
        if (ev.ok || !ev.blockable) return;
        ctx.report({
          kind: 'notifier-failed-blockable', time: ev.time, actor: ev.holder, pfn: -1,
          message: `${ev.holder} failed a blockable ${ev.event} of ${ev.mm}; the kernel proceeds regardless`, chain: [toChain(ev)],
        });
      },
    },
    finish(): void {},
    reset(): void {},
  };
}

export const notifier_failed_blockable: Checker = { kind: 'notifier-failed-blockable', description: 'a notifier callback failed in a blockable range', create };
