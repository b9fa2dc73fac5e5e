/**
 * notifier-unpaired (docs/invariants.md): an invalidate_range_start without its _end, or an _end after a
 * failed non-blockable start. Starts still open are reported when the run ends.
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const open = new Map<number, MmEventOf<'notifier_start'>>();
  const aborted = new Map<number, MmEventOf<'notifier_abort'>>();
  return {
    on: {
      notifier_start(ev) {
        open.set(ev.id, ev);
      },
      notifier_abort(ev) {
        aborted.set(ev.id, ev);
        open.delete(ev.id);
      },
      notifier_end(ev) {
        if (open.delete(ev.id)) return;
        const a = aborted.get(ev.id);
        ctx.report({
          kind: 'notifier-unpaired', time: ev.time, actor: ev.actor, pfn: -1,
          message: a ? `invalidate_range_end for range ${ev.id} after its non-blockable start failed` : `invalidate_range_end for range ${ev.id} without a start`,
          chain: [...(a ? [toChain(a)] : []), toChain(ev)],
        });
      },
      run_end(ev) {
        for (const s of open.values()) {
          ctx.report({
            kind: 'notifier-unpaired', time: ev.time, actor: s.actor, pfn: -1,
            message: `${s.event} invalidate_range_start (range ${s.id}, ${s.mm} 0x${s.start.toString(16)}-0x${s.end.toString(16)}) never ended`,
            chain: [toChain(s)],
          });
        }
      },
    },
    finish(): void {},
  };
}

export const notifier_unpaired: Checker = { kind: 'notifier-unpaired', description: 'a notifier start without its end, or an end after a failed non-blockable start', create };
