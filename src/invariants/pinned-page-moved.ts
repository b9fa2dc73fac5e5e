/**
 * pinned-page-moved (docs/invariants.md): migration, compaction or reclaim moved or freed a page holding a
 * DMA reference. The checker keeps its own books of DMA references per frame (every page of a large
 * folio its own), and reports a large folio once, at its first referenced page.
 */
import type { MmChainEvent } from '../mm/trace_events.js';
import { i32Column, pageFact } from './books.js';
import { toChains, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const { frames, history } = ctx.books;
  /** DMA references held on each frame. */
  const held = i32Column();
  /** Add @d to the references held on the @nr pages from @pfn. */
  const add = (pfn: number, nr: number, d: number): void => {
    held.ensure(pfn + nr - 1);
    for (let i = pfn; i < pfn + nr; i++) held.a[i] = (held.a[i] as number) + d;
  };
  /** The first of the @nr pages from @pfn a reference holds, or -1. */
  const heldIn = (pfn: number, nr: number): number => {
    const h = held.a;
    for (let i = pfn; i < Math.min(pfn + nr, h.length); i++) if ((h[i] as number) > 0) return i;
    return -1;
  };
  /** Report @pfn moved or freed at @tail (the event, or its page of a range event) by what @what says. */
  const report = (tail: MmChainEvent, pfn: number, what: string) => ctx.report({
    kind: 'pinned-page-moved', time: tail.time, actor: tail.actor, pfn,
    message: `${what} pfn 0x${pfn.toString(16)} while ${held.get(pfn)} DMA reference(s) hold it: the device keeps the old frame`,
    chain: toChains(history.chain(pfn, ['dma_ref_get'], tail)),
  });
  return {
    on: {
      // A large folio's references are booked on each of its `nr` pages the GUP took.
      dma_ref_get(ev) {
        if (ev.refs) add(ev.pfn, ev.nr ?? 1, 1);
      },
      dma_ref_put(ev) {
        if (ev.refs) add(ev.pfn, ev.nr ?? 1, -1);
      },
      folio_migrate(ev) {
        // A huge page moves whole: reported once, at its first page a reference holds.
        const pfn = heldIn(ev.old, ev.nr ?? 1);
        if (pfn >= 0) report(ev, pfn, `migration moved ${ev.mm} va 0x${ev.va.toString(16)} away from`);
      },
      filemap_remove(ev) {
        if (ev.reason !== 'reclaim') return;
        const p = ev.pfns;
        for (let i = 0; i < p.length; i++) {
          const pfn = heldIn(p[i] as number, ev.nrs ? (ev.nrs[i] as number) : 1);
          if (pfn >= 0) report(pageFact(ev, i, frames.gen.get(pfn)), pfn, 'reclaim dropped');
        }
      },
      folio_free(ev) {
        // Only frames a DMA reference was ever taken on have a count; the column is as long as the highest.
        const p = ev.pfns, h = held.a;
        if (ev.nrs) {
          for (let i = 0; i < p.length; i++) {
            const pfn = heldIn(p[i] as number, ev.nrs[i] as number);
            if (pfn >= 0) report(pageFact(ev, i, frames.gen.get(pfn)), pfn, 'the allocator freed');
          }
          return;
        }
        for (let i = 0; i < p.length; i++) {
          const pfn = p[i] as number;
          if (pfn < h.length && (h[pfn] as number) > 0) report(pageFact(ev, i, frames.gen.get(pfn)), pfn, 'the allocator freed');
        }
      },
    },
    finish(): void {},
    reset(): void {
      held.reset();
    },
  };
}

export const pinned_page_moved: Checker = { kind: 'pinned-page-moved', description: 'migration, compaction or reclaim moved or freed a DMA-referenced page', create };
