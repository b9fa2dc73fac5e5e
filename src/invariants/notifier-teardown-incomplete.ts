/**
 * notifier-teardown-incomplete (docs/invariants.md): a subscriber holding no page reference still has a
 * translation to, or a DMA in flight on, a frame of the range when its invalidate (interval) or
 * invalidate_range_start (classic) returns; a subscriber holding references is checked at
 * invalidate_range_end. A dead device maps nothing, and a device's own MMU_NOTIFY_MIGRATE (range
 * owner = the device) is exempt: it migrates the range itself. The checker keeps each device's
 * translations from dev_map/dev_unmap (per address space a VaTable, walked over the invalidated
 * range only) and its in-flight copies from dev_dma_hold/dev_dma_release.
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

/** Flag bits of an entry. */
const WRITE = 1;
const HOLDS_REF = 2;
const PAGE = 2 ** PAGE_SHIFT;

type Installed = Extract<MmPageFact, { type: 'dev_map' }>;

function create(ctx: CheckerCtx): CheckerInstance {
  const mms = new Interner();
  /** Each device's translations: by device, then by mm id; pfn, a = install slot, b = file index, c = generation. */
  const tables = new Map<string, Map<number, VaTable>>();
  const installs = new SlotTable<Install>();
  const put = (slot: number): void => installs.put(slot);
  const holds = new Map<string, Map<string, MmEventOf<'dev_dma_hold'>[]>>();
  /** ref-holding subscribers to check at _end, by range id */
  const atEnd = new Map<number, MmEventOf<'notifier_sub_done'>[]>();

  const tableOf = (device: string, mm: string, make: boolean): VaTable | undefined => {
    let d = tables.get(device);
    if (!d) {
      if (!make) return undefined;
      tables.set(device, (d = new Map()));
    }
    const id = mms.id(mm);
    let t = d.get(id);
    if (!t && make) d.set(id, (t = new VaTable(-1)));
    return t;
  };

  /** The dev_map page fact of @device's entry for page @vpn of @mm. */
  function installed(device: string, mm: string, vpn: number, t: VaTable): Installed {
    const x = t.get(vpn) as NonNullable<ReturnType<VaTable['get']>>;
    const i = installs.get(x.a) as Install;
    return {
      type: 'dev_map', time: i.time, actor: device, device, mm, va: vpn * PAGE, pfn: x.pfn, gen: x.c, file: i.file,
      index: x.b, write: (x.flags & WRITE) !== 0, snapSeq: i.snapSeq, holdsRef: i.holdsRef,
    };
  }

  function check(done: MmEventOf<'notifier_sub_done'>, at: { time: number }, refs: boolean): void {
    const t = tableOf(done.holder, done.mm, false);
    t?.walk(vpnOf(done.start + PAGE - 1), vpnOf(done.end + PAGE - 1), (vpn) => {
      const x = installed(done.holder, done.mm, vpn, t);
      if (x.holdsRef !== refs) return;
      ctx.report({
        kind: 'notifier-teardown-incomplete', time: at.time, actor: done.holder, pfn: x.pfn, file: x.file, index: x.index,
        message: `${done.holder} still translates ${x.mm} va 0x${x.va.toString(16)} → pfn 0x${x.pfn.toString(16)} when its ${done.event} invalidation returns`,
        chain: [toChain(x), toChain(done)],
      });
    });
    for (const list of (holds.get(done.holder) ?? new Map<string, MmEventOf<'dev_dma_hold'>[]>()).values()) {
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

  return {
    on: {
      dev_map(ev) {
        const t = tableOf(ev.device, ev.mm, true) as VaTable;
        const slot = installs.add({ time: ev.time, snapSeq: ev.snapSeq, holdsRef: ev.holdsRef, file: ev.file });
        const first = vpnOf(ev.start);
        const flags = ev.holdsRef ? HOLDS_REF : 0;
        for (let i = 0; i < ev.pfns.length; i++) {
          const pfn = ev.pfns[i] as number;
          if (pfn < 0) continue;
          const old = t.clear(first + i);
          if (old !== null) installs.put(old);
          t.set(first + i, pfn, slot, ev.indices[i] as number, ev.gens[i] as number, flags | (ev.write[i] ? WRITE : 0));
          installs.hold(slot);
        }
        installs.drop(slot);
      },
      dev_unmap(ev) {
        const t = tableOf(ev.device, ev.mm, false);
        if (!t) return;
        t.clearRun(vpnOf(ev.start), ev.pfns, put);
      },
      device_dead(ev) {
        for (const t of tables.get(ev.device)?.values() ?? []) t.walk(0, Infinity, (vpn) => installs.put(t.clear(vpn) as number));
        tables.delete(ev.device);
        holds.delete(ev.device);
      },
      dev_dma_hold(ev) {
        const m = holds.get(ev.device) ?? (holds.set(ev.device, new Map()), holds.get(ev.device)!);
        m.set(ev.wr, [...(m.get(ev.wr) ?? []), ev]);
      },
      dev_dma_release(ev) {
        holds.get(ev.device)?.delete(ev.wr);
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
  };
}

export const notifier_teardown_incomplete: Checker = {
  kind: 'notifier-teardown-incomplete', description: 'a device still translates or DMAs into a range when its invalidation returns', create,
};
