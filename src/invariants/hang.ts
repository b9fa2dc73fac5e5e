/**
 * hang (docs/invariants.md): an operation stayed blocked past the liveness bound (kernel.livenessBound,
 * default 1 s of simulated time), or is still blocked when the run ends, with its wait chain. An op
 * that kernel.until stopped while it was running (in a delay, waiting on nothing) was not blocked:
 * the user's stop cut it, and that is a note, not a hang.
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const bound = ctx.livenessBound ?? 1_000_000_000;
  const starts = new Map<string, MmEventOf<'op_start'>>();
  return {
    on: {
      op_start(ev) {
        starts.set(ev.name, ev);
      },
      op_end(ev) {
        if (ev.blockedNs <= bound) return;
        const s = starts.get(ev.name);
        ctx.report({
          kind: 'hang', time: ev.time, actor: ev.actor, pfn: -1,
          message: `${ev.name} (${ev.op}) was blocked ${ev.blockedNs} ns, past the liveness bound of ${bound} ns`,
          chain: [...(s ? [toChain(s)] : []), toChain(ev)],
        });
      },
      op_blocked(ev) {
        const s = starts.get(ev.name);
        if (!ev.wq && ctx.cutByUntil?.() === true) {
          ctx.note?.(`kernel.until${ctx.until !== undefined ? ` (${ctx.until} ns)` : ''} stopped the run while ${ev.name} (${ev.op}) was running, since ${ev.since} ns: cut, not blocked`);
          return;
        }
        ctx.report({
          kind: 'hang', time: ev.time, actor: ev.actor, pfn: -1,
          message: `${ev.name} (${ev.op}) is still blocked when the run ends${ev.wq ? `, waiting on ${ev.wq}` : ''} since ${ev.since} ns`,
          chain: [...(s ? [toChain(s)] : []), toChain(ev)],
        });
      },
    },
    finish(): void {},
    reset(): void {
      if (starts.size) starts.clear();
    },
  };
}

export const hang: Checker = { kind: 'hang', description: 'an operation blocked past the liveness bound, or still blocked at the end', create };
