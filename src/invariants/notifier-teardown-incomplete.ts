/**
 * notifier-teardown-incomplete (docs/invariants.md): a subscriber holding no page reference still has a
 * translation to, or a DMA in flight on, a frame of the range when its invalidate (interval) or
 * invalidate_range_start (classic) returns; a subscriber holding references is checked at
 * invalidate_range_end. A dead device maps nothing, and a device's own MMU_NOTIFY_MIGRATE (range
 * owner = the device) is exempt: it migrates the range itself. The checker keeps each
 * subscription's translations and in-flight copies from dev_map/dev_unmap/dev_dma_hold/
 * dev_dma_release: one device may hold several subscriptions over one page (two MRs of one NIC),
 * and each invalidate answers only for its own. An event without a subscription (a classic
 * subscriber) is booked, and checked, per device. Translations are kept per address space in a
 * VaTable, walked over the invalidated range only.
 */
import type { MmEventOf, MmPageFact } from '../mm/trace_events.js';
import { Interner, PAGE_SHIFT, SlotTable, VaTable, vpnOf } from './books.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

/** What the entries a dev_map event installed share: when, from which walk, holding references or not, for which file. */
interface Install {
  readonly time: number;
  readonly snapSeq: number;
  readonly holdsRef: boolean;
  readonly file: string;
}

type Hold = MmEventOf<'dev_dma_hold'>;
type Done = MmEventOf<'notifier_sub_done'>;
type Installed = Extract<MmPageFact, { type: 'dev_map' }>;

/**
 * One subscription's books (or a device's, for events without one): per mm id a VaTable of its
 * translations (pfn; a = install slot; b = file index; c = generation; flags), and its in-flight copies.
 */
interface Book {
  readonly tables: Map<number, VaTable>;
  readonly holds: Map<string, Hold[]>;
}

/** Flag bits of an entry. */
const WRITE = 1;
const HOLDS_REF = 2;
const PAGE = 2 ** PAGE_SHIFT;
/** The subscription key of an event without one. */
const NONE = -1;

function create(ctx: CheckerCtx): CheckerInstance {
  const mms = new Interner();
  /** device → subscription id (NONE without one) → its books */
  const devices = new Map<string, Map<number, Book>>();
  const installs = new SlotTable<Install>();
  const put = (slot: number): void => installs.put(slot);
  /** ref-holding subscribers to check at _end, by range id */
  const atEnd = new Map<number, Done[]>();

  const book = (device: string, sub: number | undefined): Book => {
    const subs = devices.get(device) ?? (devices.set(device, new Map()), devices.get(device)!);
    const id = sub ?? NONE;
    return subs.get(id) ?? (subs.set(id, { tables: new Map(), holds: new Map() }), subs.get(id)!);
  };
  const tableOf = (b: Book, mm: string): VaTable => {
    const id = mms.id(mm);
    return b.tables.get(id) ?? (b.tables.set(id, new VaTable(-1)), b.tables.get(id)!);
  };
  /** The books @done answers for: its subscription's, or every one of the device without one. */
  const booksOf = (done: Done): Book[] =>
    done.sub !== undefined ? [book(done.holder, done.sub)] : [...(devices.get(done.holder)?.values() ?? [])];

  /** The dev_map page fact of @device's entry for page @vpn of @mm in @t. */
  function installed(device: string, mm: string, vpn: number, t: VaTable): Installed {
    const x = t.get(vpn) as NonNullable<ReturnType<VaTable['get']>>;
    const i = installs.get(x.a) as Install;
    return {
      type: 'dev_map', time: i.time, actor: device, device, mm, va: vpn * PAGE, pfn: x.pfn, gen: x.c, file: i.file,
      index: x.b, write: (x.flags & WRITE) !== 0, snapSeq: i.snapSeq, holdsRef: i.holdsRef,
    };
  }

  function check(done: Done, at: { time: number }, refs: boolean): void {
    for (const b of booksOf(done)) {
      const t = b.tables.get(mms.id(done.mm));
      t?.walk(vpnOf(done.start + PAGE - 1), vpnOf(done.end + PAGE - 1), (vpn) => {
        const x = installed(done.holder, done.mm, vpn, t);
        if (x.holdsRef !== refs) return;
        ctx.report({
          kind: 'notifier-teardown-incomplete', time: at.time, actor: done.holder, pfn: x.pfn, file: x.file, index: x.index,
          message: `${done.holder} still translates ${x.mm} va 0x${x.va.toString(16)} → pfn 0x${x.pfn.toString(16)} when its ${done.event} invalidation returns`,
          chain: [toChain(x), toChain(done)],
        });
      });
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

  /** Forget every translation of @b (a dead device's). */
  const drop = (b: Book): void => {
    for (const t of b.tables.values()) t.walk(0, Infinity, (vpn) => put(t.clear(vpn) as number));
  };

  return {
    on: {
      dev_map(ev) {
        const t = tableOf(book(ev.device, ev.sub), ev.mm);
        const slot = installs.add({ time: ev.time, snapSeq: ev.snapSeq, holdsRef: ev.holdsRef, file: ev.file });
        const first = vpnOf(ev.start);
        const flags = ev.holdsRef ? HOLDS_REF : 0;
        for (let i = 0; i < ev.pfns.length; i++) {
          const pfn = ev.pfns[i] as number;
          if (pfn < 0) continue;
          const old = t.clear(first + i);
          if (old !== null) put(old);
          t.set(first + i, pfn, slot, ev.indices[i] as number, ev.gens[i] as number, flags | (ev.write[i] ? WRITE : 0));
          installs.hold(slot);
        }
        installs.drop(slot);
      },
      dev_unmap(ev) {
        const t = devices.get(ev.device)?.get(ev.sub ?? NONE)?.tables.get(mms.id(ev.mm));
        t?.clearRun(vpnOf(ev.start), ev.pfns, put);
      },
      device_dead(ev) {
        for (const b of devices.get(ev.device)?.values() ?? []) drop(b);
        devices.delete(ev.device);
      },
      dev_dma_hold(ev) {
        const holds = book(ev.device, ev.sub).holds;
        holds.set(ev.wr, [...(holds.get(ev.wr) ?? []), ev]);
      },
      dev_dma_release(ev) {
        for (const b of devices.get(ev.device)?.values() ?? []) b.holds.delete(ev.wr);
      },
      notifier_sub_done(ev) {
        if (!ev.ok && !ev.blockable) return; // refused: the range is skipped
        // The device migrating the range updates its own table (test_hmm, nouveau skip it).
        if ((ev.event === 'MMU_NOTIFY_MIGRATE' || ev.event === 'MMU_NOTIFY_EXCLUSIVE') && ev.owner === ev.holder) return;
        check(ev, ev, false);
        atEnd.set(ev.id, [...(atEnd.get(ev.id) ?? []), ev]);
      },
      notifier_end(ev) {
        for (const d of atEnd.get(ev.id) ?? []) check(d, ev, true);
        atEnd.delete(ev.id);
      },
    },
    finish(): void {},
    reset(): void {
      mms.reset();
      // The tables' leaves go to the spare ones for the next execution's tables.
      for (const subs of devices.values()) for (const b of subs.values()) for (const t of b.tables.values()) t.reset();
      if (devices.size) devices.clear();
      installs.reset();
      if (atEnd.size) atEnd.clear();
    },
  };
}

export const notifier_teardown_incomplete: Checker = {
  kind: 'notifier-teardown-incomplete', description: 'a device still translates or DMAs into a range when its invalidation returns', create,
};
