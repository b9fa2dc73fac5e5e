/**
 * notifier-unpaired (docs/invariants.md): an invalidate_range_start without its _end, or an _end after a
 * failed non-blockable start. Starts still open are reported when the run ends, unless
 * kernel.until ended the run inside them: a range the user's stop cut is not the kernel's, and it
 * becomes a note naming the range, the devices whose invalidation had not returned, and the stop.
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

type Start = MmEventOf<'notifier_start'>;
type Sub = MmEventOf<'interval_insert'>;

const hex = (n: number): string => `0x${n.toString(16)}`;

function create(ctx: CheckerCtx) {
  const open = new Map<number, Start>();
  const aborted = new Map<number, MmEventOf<'notifier_abort'>>();
  /** The interval subscriptions now inserted, and which of them each open range has called back. */
  const subs: Sub[] = [];
  const called = new Map<number, Set<string>>();

  /** A note for a range kernel.until cut: who was still inside its invalidation, and the stop. */
  function cutNote(s: Start): string {
    const done = called.get(s.id) ?? new Set<string>();
    const pending = [...new Set(subs.filter((x) => x.mm === s.mm && x.start < s.end && x.end > s.start && !done.has(x.holder)).map((x) => x.holder))];
    const who = pending.length ? `with the invalidation of ${pending.join(', ')} not yet returned` : 'between its start and its end';
    const until = ctx.until !== undefined ? ` (${ctx.until} ns)` : '';
    return `kernel.until${until} stopped the run inside ${s.event} range ${s.id} of ${s.mm} [${hex(s.start)}, ${hex(s.end)}) opened by ${s.actor}, ${who}: not a violation, the run was cut there`;
  }

  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'interval_insert': subs.push(ev); break;
        case 'interval_remove': {
          const i = subs.findIndex((x) => x.holder === ev.holder && x.mm === ev.mm && x.start === ev.start && x.end === ev.end);
          if (i >= 0) subs.splice(i, 1);
          break;
        }
        case 'notifier_sub_done': {
          const c = called.get(ev.id) ?? new Set<string>();
          c.add(ev.holder);
          called.set(ev.id, c);
          break;
        }
        case 'notifier_start': open.set(ev.id, ev); break;
        case 'notifier_abort': aborted.set(ev.id, ev); open.delete(ev.id); called.delete(ev.id); break;
        case 'notifier_end': {
          called.delete(ev.id);
          if (open.delete(ev.id)) break;
          const a = aborted.get(ev.id);
          ctx.report({
            kind: 'notifier-unpaired', time: ev.time, actor: ev.actor, pfn: -1,
            message: a ? `invalidate_range_end for range ${ev.id} after its non-blockable start failed` : `invalidate_range_end for range ${ev.id} without a start`,
            chain: [...(a ? [toChain(a)] : []), toChain(ev)],
          });
          break;
        }
        case 'run_end':
          for (const s of open.values()) {
            if (ctx.cutByUntil?.() === true) {
              ctx.note?.(cutNote(s));
              continue;
            }
            ctx.report({
              kind: 'notifier-unpaired', time: ev.time, actor: s.actor, pfn: -1,
              message: `${s.event} invalidate_range_start (range ${s.id}, ${s.mm} ${hex(s.start)}-${hex(s.end)}) never ended`,
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
