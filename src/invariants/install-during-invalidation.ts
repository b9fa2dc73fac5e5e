/**
 * install-during-invalidation (docs/invariants.md): a device installed a translation for an address while an
 * invalidation covering it was open, or from a snapshot taken across one (the read_retry protocol
 * broken): an invalidation of that address started after the device's page-table walk began. The
 * chain is the invalidation's start, then — when it had ended before the install — its end, then
 * the install. An install of many pages is checked against the invalidations of its address space
 * that overlap it, which are few: an invalidation ended before the walk began is never looked at.
 * A device's own MMU_NOTIFY_MIGRATE (range owner = the device) does not count: the device migrates
 * that range itself, and its invalidate ignores it without touching the sequence count, as
 * dmirror_interval_invalidate() does, so read_retry would not refuse. The owner is the one each
 * subscriber's callback was given (notifier_sub_done).
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { pageFact } from './books.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

/** An invalidation as this checker remembers it: its start, its trace position, and its end once seen. */
interface Invalidation {
  start: MmEventOf<'notifier_start'>;
  seq: number;
  end: MmEventOf<'notifier_end' | 'notifier_abort'> | null;
}

function create(ctx: CheckerCtx): CheckerInstance {
  const open = new Map<number, Invalidation>();
  /** invalidations of each mm with their trace position, most recent last */
  const past = new Map<string, Invalidation[]>();
  /** The owner of each MIGRATE range, as its callbacks were told. */
  const migrateOwner = new Map<number, string>();
  const close = (ev: MmEventOf<'notifier_end' | 'notifier_abort'>): void => {
    const inv = open.get(ev.id);
    if (inv) inv.end = ev;
    open.delete(ev.id);
  };
  return {
    on: {
      notifier_start(ev) {
        const inv = { start: ev, seq: ctx.position(), end: null };
        open.set(ev.id, inv);
        const l = past.get(ev.mm);
        if (l) l.push(inv);
        else past.set(ev.mm, [inv]);
      },
      notifier_end: close,
      notifier_abort: close,
      notifier_sub_done(ev) {
        if (ev.event === 'MMU_NOTIFY_MIGRATE' && ev.owner) migrateOwner.set(ev.id, ev.owner);
      },
      dev_map(ev) {
        const overlaps = (i: Invalidation) =>
          i.start.mm === ev.mm && i.start.start < ev.end && i.start.end > ev.start && migrateOwner.get(i.start.id) !== ev.device;
        const during = [...open.values()].filter(overlaps);
        // The invalidations that started after the walk began, oldest first.
        const l = past.get(ev.mm) ?? [];
        let k = l.length;
        while (k > 0 && (l[k - 1] as Invalidation).seq > ev.snapSeq) k--;
        const across = l.slice(k).filter(overlaps);
        if (!during.length && !across.length) return;
        const step = (ev.end - ev.start) / ev.pfns.length;
        ev.pfns.forEach((pfn, i) => {
          if (pfn < 0) return;
          const va = ev.start + i * step;
          const covers = (x: Invalidation) => va >= x.start.start && va < x.start.end;
          const d = during.find(covers);
          const inv = d ?? across.find(covers);
          if (!inv) return;
          const s = inv.start;
          ctx.report({
            kind: 'install-during-invalidation', time: ev.time, actor: ev.device, pfn, file: ev.file, index: ev.indices[i] as number,
            message: d
              ? `${ev.device} installed ${ev.mm} va 0x${va.toString(16)} → pfn 0x${pfn.toString(16)} while ${s.event} (range ${s.id}) was open`
              : `${ev.device} installed ${ev.mm} va 0x${va.toString(16)} → pfn 0x${pfn.toString(16)} from a snapshot taken before ${s.event} (range ${s.id}) hit it: read_retry would have refused`,
            chain: [toChain(s), ...(!d && inv.end ? [toChain(inv.end)] : []), toChain(pageFact(ev, i, ev.gens[i] as number))],
          });
        });
      },
    },
    finish(): void {},
    reset(): void {
      if (open.size) open.clear();
      if (past.size) past.clear();
      if (migrateOwner.size) migrateOwner.clear();
    },
  };
}

export const install_during_invalidation: Checker = {
  kind: 'install-during-invalidation', description: 'a device installed a translation during, or from a snapshot across, an invalidation', create,
};
