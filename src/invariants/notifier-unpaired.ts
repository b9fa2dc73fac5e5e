/**
 * notifier-unpaired (docs/invariants.md): an invalidate_range_start without its _end, or an _end after a
 * failed non-blockable start. Starts still open are reported when the run ends. Ranges are followed
 * as a whole, and classic subscribers (whose invalidate_range_end is called one by one) each on
 * their own: one whose start succeeded in a range another refused is left without its end before
 * 5.13, and one whose own start failed must not get one.
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const open = new Map<number, MmEventOf<'notifier_start'>>();
  const aborted = new Map<number, MmEventOf<'notifier_abort'>>();
  /** classic subscribers by `range|holder`: started (a blockable failure proceeds as started), or refused */
  const subOpen = new Map<string, MmEventOf<'notifier_sub_done'>>();
  const subRefused = new Map<string, MmEventOf<'notifier_sub_done'>>();
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'notifier_start': open.set(ev.id, ev); break;
        case 'notifier_abort': aborted.set(ev.id, ev); open.delete(ev.id); break;
        case 'notifier_end': {
          if (open.delete(ev.id)) break;
          const a = aborted.get(ev.id);
          ctx.report({
            kind: 'notifier-unpaired', time: ev.time, actor: ev.actor, pfn: -1,
            message: a ? `invalidate_range_end for range ${ev.id} after its non-blockable start failed` : `invalidate_range_end for range ${ev.id} without a start`,
            chain: [...(a ? [toChain(a)] : []), toChain(ev)],
          });
          break;
        }
        case 'notifier_sub_done': {
          if (!ev.classic) break;
          const key = `${ev.id}|${ev.holder}`;
          if (ev.ok || ev.blockable) subOpen.set(key, ev);
          else subRefused.set(key, ev);
          break;
        }
        case 'notifier_sub_end': {
          const key = `${ev.id}|${ev.holder}`;
          if (subOpen.delete(key)) break;
          const refused = subRefused.get(key);
          ctx.report({
            kind: 'notifier-unpaired', time: ev.time, actor: ev.actor, pfn: -1,
            message: refused ? `${ev.holder}'s invalidate_range_end for range ${ev.id} after its own non-blockable start failed` : `${ev.holder}'s invalidate_range_end for range ${ev.id} without its start`,
            chain: [...(refused ? [toChain(refused)] : []), toChain(ev)],
          });
          break;
        }
        case 'run_end':
          for (const d of subOpen.values()) {
            ctx.report({
              kind: 'notifier-unpaired', time: ev.time, actor: d.actor, pfn: -1,
              message: `${d.holder}'s invalidate_range_start for range ${d.id} (${d.event}, ${d.mm}) never got its _end`,
              chain: [toChain(d)],
            });
          }
          for (const s of open.values()) {
            ctx.report({
              kind: 'notifier-unpaired', time: ev.time, actor: s.actor, pfn: -1,
              message: `${s.event} invalidate_range_start (range ${s.id}, ${s.mm} 0x${s.start.toString(16)}-0x${s.end.toString(16)}) never ended`,
              chain: [toChain(s)],
            });
          }
          break;
        default: break;
      }
    },
    finish(): void {},
  };
}

export const notifier_unpaired: Checker = { kind: 'notifier-unpaired', description: 'a notifier start without its end, or an end after a failed non-blockable start', create };
