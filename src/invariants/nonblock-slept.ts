/** nonblock-slept (docs/invariants.md): a notifier callback slept (waited) in a non-blockable range. */
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  return {
    on: {
      nonblock_slept(ev) {
        ctx.report({
          kind: 'nonblock-slept', time: ev.time, actor: ev.holder, pfn: -1,
          message: `${ev.holder} slept at ${ev.site} inside a non-blockable invalidation (range ${ev.id})`, chain: [toChain(ev)],
        });
      },
    },
    finish(): void {},
    reset(): void {},
  };
}

export const nonblock_slept: Checker = { kind: 'nonblock-slept', description: 'a callback slept in a non-blockable range', create };
