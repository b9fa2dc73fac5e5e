/**
 * install-during-invalidation (DESIGN §7): a device installed a translation for an address while an
 * invalidation covering it was open, or from a snapshot taken across one (the read_retry protocol
 * broken): an invalidation of that address started after the device's page-table walk began.
 * A device's own MMU_NOTIFY_MIGRATE (range owner = the device) does not count: the device migrates
 * that range itself, and its invalidate ignores it without touching the sequence count, as
 * dmirror_interval_invalidate() does, so read_retry would not refuse. The owner is the one each
 * subscriber's callback was given (notifier_sub_done).
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  let n = 0;
  const open = new Map<number, MmEventOf<'notifier_start'> & { seq: number }>();
  /** invalidations by mm, with their trace position, most recent last */
  const past: (MmEventOf<'notifier_start'> & { seq: number })[] = [];
  /** The owner of each MIGRATE range, as its callbacks were told. */
  const migrateOwner = new Map<number, string>();
  return {
    on(ev: MmTraceEvent): void {
      n++;
      switch (ev.type) {
        case 'notifier_start': {
          const s = { ...ev, seq: n };
          open.set(ev.id, s);
          past.push(s);
          break;
        }
        case 'notifier_end': case 'notifier_abort': open.delete(ev.id); break;
        case 'notifier_sub_done':
          if (ev.event === 'MMU_NOTIFY_MIGRATE' && ev.owner) migrateOwner.set(ev.id, ev.owner);
          break;
        case 'dev_map': {
          const covers = (s: MmEventOf<'notifier_start'>) =>
            s.mm === ev.mm && ev.va >= s.start && ev.va < s.end && migrateOwner.get(s.id) !== ev.device;
          const during = [...open.values()].find(covers);
          const across = during ?? past.find((s) => covers(s) && s.seq > ev.snapSeq);
          if (!across) return;
          ctx.report({
            kind: 'install-during-invalidation', time: ev.time, actor: ev.device, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: during
              ? `${ev.device} installed ${ev.mm} va 0x${ev.va.toString(16)} → pfn ${ev.pfn} while ${during.event} (range ${during.id}) was open`
              : `${ev.device} installed ${ev.mm} va 0x${ev.va.toString(16)} → pfn ${ev.pfn} from a snapshot taken before ${across.event} (range ${across.id}) hit it: read_retry would have refused`,
            chain: [toChain(across), toChain(ev)],
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
