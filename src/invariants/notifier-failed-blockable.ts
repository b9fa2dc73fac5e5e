/** notifier-failed-blockable (docs/invariants.md): a notifier callback failed in a blockable range (the kernel WARNs and proceeds). */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  return {
    on(ev: MmTraceEvent): void {
      if (ev.type !== 'notifier_sub_done' || ev.ok || !ev.blockable) return;
      ctx.report({
        kind: 'notifier-failed-blockable', time: ev.time, actor: ev.holder, pfn: -1,
        message: `${ev.holder} failed a blockable ${ev.event} of ${ev.mm}; the kernel proceeds regardless`, chain: [toChain(ev)],
      });
    },
    finish(): void {},
  };
}

export const notifier_failed_blockable: Checker = { kind: 'notifier-failed-blockable', description: 'a notifier callback failed in a blockable range', create };
