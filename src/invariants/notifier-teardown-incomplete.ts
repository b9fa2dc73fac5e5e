/**
 * notifier-teardown-incomplete (docs/invariants.md): a subscriber holding no page reference still has a
 * translation to, or a DMA in flight on, a frame of the range when its invalidate (interval) or
 * invalidate_range_start (classic) returns; a subscriber holding references is checked at
 * invalidate_range_end. A dead device maps nothing, and a device's own MMU_NOTIFY_MIGRATE (range
 * owner = the device) is exempt: it migrates the range itself. The checker keeps each
 * subscription's translations and in-flight copies from dev_map/dev_unmap/dev_dma_hold/
 * dev_dma_release: one device may hold several subscriptions over one page (two MRs of one NIC),
 * and each invalidate answers only for its own. An event without a subscription (a classic
 * subscriber) is booked, and checked, per device.
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

type Map_ = MmEventOf<'dev_map'>;
type Hold = MmEventOf<'dev_dma_hold'>;
/** One subscription's books (or a device's, for events without one). */
interface Book { readonly entries: Map<string, Map_>; readonly holds: Map<string, Hold[]> }

const NONE = -1;

function create(ctx: CheckerCtx) {
  /** device → subscription id (NONE without one) → its books */
  const devices = new Map<string, Map<number, Book>>();
  /** ref-holding subscribers to check at _end, by range id */
  const atEnd = new Map<number, MmEventOf<'notifier_sub_done'>[]>();
  const book = (device: string, sub: number | undefined): Book => {
    const subs = devices.get(device) ?? (devices.set(device, new Map()), devices.get(device)!);
    const id = sub ?? NONE;
    return subs.get(id) ?? (subs.set(id, { entries: new Map(), holds: new Map() }), subs.get(id)!);
  };
  /** The books @done answers for: its subscription's, or every one of the device without one. */
  const booksOf = (done: MmEventOf<'notifier_sub_done'>): Book[] =>
    done.sub !== undefined ? [book(done.holder, done.sub)] : [...(devices.get(done.holder)?.values() ?? [])];

  function check(done: MmEventOf<'notifier_sub_done'>, at: MmTraceEvent, refs: boolean): void {
    for (const b of booksOf(done)) {
      for (const x of b.entries.values()) {
        if (x.mm !== done.mm || x.va < done.start || x.va >= done.end || x.holdsRef !== refs) continue;
        ctx.report({
          kind: 'notifier-teardown-incomplete', time: at.time, actor: done.holder, pfn: x.pfn, file: x.file, index: x.index,
          message: `${done.holder} still translates ${x.mm} va 0x${x.va.toString(16)} → pfn 0x${x.pfn.toString(16)} when its ${done.event} invalidation returns`,
          chain: [toChain(x), toChain(done)],
        });
      }
      for (const list of b.holds.values()) {
        for (const h of list) {
          if (h.mm !== done.mm || h.va < done.start || h.va >= done.end) continue;
          ctx.report({
            kind: 'notifier-teardown-incomplete', time: at.time, actor: done.holder, pfn: h.pfn,
            message: `${done.holder} has DMA ${h.wr} in flight on pfn 0x${h.pfn.toString(16)} (${h.mm} va 0x${h.va.toString(16)}) when its ${done.event} invalidation returns`,
            chain: [toChain(h), toChain(done)],
          });
        }
      }
    }
  }

  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'dev_map': book(ev.device, ev.sub).entries.set(`${ev.mm}:${ev.va}`, ev); break;
        case 'dev_unmap': book(ev.device, ev.sub).entries.delete(`${ev.mm}:${ev.va}`); break;
        case 'device_dead': devices.delete(ev.device); break;
        case 'dev_dma_hold': {
          const holds = book(ev.device, ev.sub).holds;
          holds.set(ev.wr, [...(holds.get(ev.wr) ?? []), ev]);
          break;
        }
        case 'dev_dma_release': for (const b of devices.get(ev.device)?.values() ?? []) b.holds.delete(ev.wr); break;
        case 'notifier_sub_done':
          if (!ev.ok && !ev.blockable) break; // refused: the range is skipped
          // The device migrating the range updates its own table (test_hmm, nouveau skip it).
          if ((ev.event === 'MMU_NOTIFY_MIGRATE' || ev.event === 'MMU_NOTIFY_EXCLUSIVE') && ev.owner === ev.holder) break;
          check(ev, ev, false);
          atEnd.set(ev.id, [...(atEnd.get(ev.id) ?? []), ev]);
          break;
        case 'notifier_end':
          for (const d of atEnd.get(ev.id) ?? []) check(d, ev, true);
          atEnd.delete(ev.id);
          break;
        default: break;
      }
    },
    finish(): void {},
  };
}

export const notifier_teardown_incomplete: Checker = {
  kind: 'notifier-teardown-incomplete', description: 'a device still translates or DMAs into a range when its invalidation returns', create,
};
