/**
 * install-during-invalidation (docs/invariants.md): a device installed a translation for an address while an
 * invalidation covering it was open, or from a snapshot taken across one (the read_retry protocol
 * broken): an invalidation of that address started after the device's page-table walk began. The
 * chain is the invalidation's start, then — when it had ended before the install — its end, then
 * the install. A device's own MMU_NOTIFY_MIGRATE (range owner = the device) does not count: the
 * device migrates that range itself, and its invalidate ignores it without touching the sequence
 * count, as dmirror_interval_invalidate() does, so read_retry would not refuse. The owner is the one
 * each subscriber's callback was given (notifier_sub_done).
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

/** An invalidation as this checker remembers it: its start, its trace position, and its end once seen. */
interface Invalidation {
  start: MmEventOf<'notifier_start'>;
  seq: number;
  end: MmEventOf<'notifier_end' | 'notifier_abort'> | null;
}

function create(ctx: CheckerCtx) {
  let n = 0;
  const open = new Map<number, Invalidation>();
  /** invalidations with their trace position, most recent last */
  const past: Invalidation[] = [];
  /** The owner of each MIGRATE range, as its callbacks were told. */
  const migrateOwner = new Map<number, string>();
  return {
    on(ev: MmTraceEvent): void {
      n++;
      switch (ev.type) {
        case 'notifier_start': {
          const inv = { start: ev, seq: n, end: null };
          open.set(ev.id, inv);
          past.push(inv);
          break;
        }
        case 'notifier_end': case 'notifier_abort': {
          const inv = open.get(ev.id);
          if (inv) inv.end = ev;
          open.delete(ev.id);
          break;
        }
        case 'notifier_sub_done':
          if (ev.event === 'MMU_NOTIFY_MIGRATE' && ev.owner) migrateOwner.set(ev.id, ev.owner);
          break;
        case 'dev_map': {
          const covers = (i: Invalidation) =>
            i.start.mm === ev.mm && ev.va >= i.start.start && ev.va < i.start.end && migrateOwner.get(i.start.id) !== ev.device;
          const during = [...open.values()].find(covers);
          const across = during ?? past.find((i) => covers(i) && i.seq > ev.snapSeq);
          if (!across) return;
          const s = across.start;
          ctx.report({
            kind: 'install-during-invalidation', time: ev.time, actor: ev.device, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: during
              ? `${ev.device} installed ${ev.mm} va 0x${ev.va.toString(16)} → pfn 0x${ev.pfn.toString(16)} while ${s.event} (range ${s.id}) was open`
              : `${ev.device} installed ${ev.mm} va 0x${ev.va.toString(16)} → pfn 0x${ev.pfn.toString(16)} from a snapshot taken before ${s.event} (range ${s.id}) hit it: read_retry would have refused`,
            chain: [toChain(s), ...(!during && across.end ? [toChain(across.end)] : []), toChain(ev)],
          });
          break;
        }
        default: break;
      }
    },
    finish(): void {},
  };
}

export const install_during_invalidation: Checker = {
  kind: 'install-during-invalidation', description: 'a device installed a translation during, or from a snapshot across, an invalidation', create,
};
