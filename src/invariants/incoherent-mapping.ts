/**
 * incoherent-mapping (docs/invariants.md): at a device access to virtual address v of mm M, the device's
 * frame differs from the frame of a present PTE for v in M (COW after fork, a re-fault after
 * MADV_DONTNEED, a new mapping at a VA the device still translates). Not checked where v has no
 * present PTE. The checker keeps its own page-table books from pte_set / pte_clear: per address
 * space a VaTable of each present PTE's frame and when and by whom it was set.
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { Interner, PAGE_SHIFT, VaTable, vpnOf } from './books.js';

const PAGE = 2 ** PAGE_SHIFT;
import { toChain, toChains, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const { history } = ctx.books;
  const names = new Interner();
  /**
   * The PTE books of each mm (by its interned name): pfn; a = actor id << 1 | write; b = time; c =
   * refcount; flags = the order of a huge entry (its pages each booked with their own frame).
   */
  const ptes = new Map<number, VaTable>();
  const table = (mm: string): VaTable => {
    const id = names.id(mm);
    let t = ptes.get(id);
    if (!t) ptes.set(id, (t = new VaTable(0)));
    return t;
  };
  return {
    on: {
      pte_set(ev) {
        const t = table(ev.mm), first = vpnOf(ev.va), a = (names.id(ev.actor) << 1) | (ev.write ? 1 : 0);
        if (!ev.nr) {
          t.set(first, ev.pfn, a, ev.time, ev.refcount, 0);
          return;
        }
        // A huge entry: each of its pages maps its own frame of the folio.
        const order = Math.log2(ev.nr);
        for (let i = 0; i < ev.nr; i++) t.set(first + i, ev.pfn + i, a, ev.time, ev.refcount, order);
      },
      pte_clear(ev) {
        const t = ptes.get(names.id(ev.mm));
        if (!t || !t.count) return;
        t.clearRun(vpnOf(ev.start), ev.pfns);
      },
      dma_access(ev) {
        if (!ev.mm) return;
        const vpn = vpnOf(ev.va);
        const p = ptes.get(names.id(ev.mm))?.get(vpn);
        if (!p || p.pfn === ev.pfn) return;
        // A huge entry is told as it was set: its first page and frame, and its pages.
        const nr = 2 ** p.flags, off = vpn % nr;
        const set: MmEventOf<'pte_set'> = {
          type: 'pte_set', time: p.b, actor: names.name(p.a >> 1), mm: ev.mm, va: nr > 1 ? (vpn - off) * PAGE : ev.va, pfn: p.pfn - off, write: (p.a & 1) === 1, refcount: p.c,
          ...(nr > 1 ? { nr } : {}),
        };
        ctx.report({
          kind: 'incoherent-mapping', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
          message: `${ev.actor} ${ev.write ? 'wrote' : 'read'} pfn 0x${ev.pfn.toString(16)} for ${ev.mm} va 0x${ev.va.toString(16)}, but ${ev.mm}'s PTE there maps pfn 0x${p.pfn.toString(16)}: CPU and device no longer share that page`,
          chain: [...toChains(history.chain(ev.pfn, ['dma_ref_get', 'cow_copy', 'pte_clear'], ev).slice(0, -1)), toChain(set), toChain(ev)],
        });
      },
    },
    finish(): void {},
    reset(): void {
      names.reset();
      // An empty table reads as no table; kept, its leaves serve the next execution.
      for (const t of ptes.values()) t.reset();
    },
  };
}

export const incoherent_mapping: Checker = { kind: 'incoherent-mapping', description: "a device's frame differs from the CPU's PTE for the same address", create };
