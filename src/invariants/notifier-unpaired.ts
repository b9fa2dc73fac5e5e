/**
 * notifier-unpaired (docs/invariants.md): an invalidate_range_start without its _end, or an _end after a
 * failed non-blockable start. Starts still open are reported when the run ends, unless
 * kernel.until ended the run inside them: a range the user's stop cut is not the kernel's, and it
 * becomes a note naming the range, the devices whose invalidation had not returned, and the stop.
 * Ranges are followed as a whole, and classic subscribers (whose invalidate_range_end is called one
 * by one) each on their own: one whose start succeeded in a range another refused is left without
 * its end before 5.13, and one whose own start failed must not get one.
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

type Start = MmEventOf<'notifier_start'>;
type Sub = MmEventOf<'interval_insert'>;

const hex = (n: number): string => `0x${n.toString(16)}`;

function create(ctx: CheckerCtx): CheckerInstance {
  const open = new Map<number, Start>();
  const aborted = new Map<number, MmEventOf<'notifier_abort'>>();
  /** classic subscribers by `range|holder`: started (a blockable failure proceeds as started), or refused */
  const subOpen = new Map<string, MmEventOf<'notifier_sub_done'>>();
  const subRefused = new Map<string, MmEventOf<'notifier_sub_done'>>();
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
    on: {
      interval_insert(ev) {
        subs.push(ev);
      },
      interval_remove(ev) {
        const i = subs.findIndex((x) => x.holder === ev.holder && x.mm === ev.mm && x.start === ev.start && x.end === ev.end);
        if (i >= 0) subs.splice(i, 1);
      },
      notifier_sub_done(ev) {
        const c = called.get(ev.id) ?? new Set<string>();
        c.add(ev.holder);
        called.set(ev.id, c);
        if (!ev.classic) return;
        const key = `${ev.id}|${ev.holder}`;
        if (ev.ok || ev.blockable) subOpen.set(key, ev);
        else subRefused.set(key, ev);
      },
      notifier_sub_end(ev) {
        const key = `${ev.id}|${ev.holder}`;
        if (subOpen.delete(key)) return;
        const refused = subRefused.get(key);
        ctx.report({
          kind: 'notifier-unpaired', time: ev.time, actor: ev.actor, pfn: -1,
          message: refused ? `${ev.holder}'s invalidate_range_end for range ${ev.id} after its own non-blockable start failed` : `${ev.holder}'s invalidate_range_end for range ${ev.id} without its start`,
          chain: [...(refused ? [toChain(refused)] : []), toChain(ev)],
        });
      },
      notifier_start(ev) {
        open.set(ev.id, ev);
      },
      notifier_abort(ev) {
        aborted.set(ev.id, ev);
        open.delete(ev.id);
        called.delete(ev.id);
      },
      notifier_end(ev) {
        called.delete(ev.id);
        if (open.delete(ev.id)) return;
        const a = aborted.get(ev.id);
        ctx.report({
          kind: 'notifier-unpaired', time: ev.time, actor: ev.actor, pfn: -1,
          message: a ? `invalidate_range_end for range ${ev.id} after its non-blockable start failed` : `invalidate_range_end for range ${ev.id} without a start`,
          chain: [...(a ? [toChain(a)] : []), toChain(ev)],
        });
      },
      run_end(ev) {
        for (const d of subOpen.values()) {
          // A classic subscriber's start still open in a range the user's stop cut is the range's note.
          if (open.has(d.id) && ctx.cutByUntil?.() === true) continue;
          ctx.report({
            kind: 'notifier-unpaired', time: ev.time, actor: d.actor, pfn: -1,
            message: `${d.holder}'s invalidate_range_start for range ${d.id} (${d.event}, ${d.mm}) never got its _end`,
            chain: [toChain(d)],
          });
        }
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
      },
    },
    finish(): void {},
    reset(): void {
      if (open.size) open.clear();
      if (aborted.size) aborted.clear();
      if (subOpen.size) subOpen.clear();
      if (subRefused.size) subRefused.clear();
      subs.length = 0;
      if (called.size) called.clear();
    },
  };
}

export const notifier_unpaired: Checker = { kind: 'notifier-unpaired', description: 'a notifier start without its end, or an end after a failed non-blockable start', create };
