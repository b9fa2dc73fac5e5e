/**
 * pinned-page-moved (docs/invariants.md): migration, compaction or reclaim moved or freed a page holding a
 * DMA reference. The checker keeps its own books of DMA references per frame.
 */
import type { MmChainEvent } from '../mm/trace_events.js';
import { i32Column, pageFact } from './books.js';
import { toChains, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const { frames, history } = ctx.books;
  /** DMA references held on each frame. */
  const held = i32Column();
  /** Report @pfn moved or freed at @tail (the event, or its page of a range event) by what @what says. */
  const report = (tail: MmChainEvent, pfn: number, what: string) => ctx.report({
    kind: 'pinned-page-moved', time: tail.time, actor: tail.actor, pfn,
    message: `${what} pfn 0x${pfn.toString(16)} while ${held.get(pfn)} DMA reference(s) hold it: the device keeps the old frame`,
    chain: toChains(history.chain(pfn, ['dma_ref_get'], tail)),
  });
  return {
    on: {
      dma_ref_get(ev) {
        if (ev.refs) held.set(ev.pfn, held.get(ev.pfn) + 1);
      },
      dma_ref_put(ev) {
        if (ev.refs) held.set(ev.pfn, held.get(ev.pfn) - 1);
      },
      folio_migrate(ev) {
        if (held.get(ev.old) > 0) report(ev, ev.old, `migration moved ${ev.mm} va 0x${ev.va.toString(16)} away from`);
      },
      filemap_remove(ev) {
        if (ev.reason !== 'reclaim') return;
        const p = ev.pfns;
        for (let i = 0; i < p.length; i++) {
          const pfn = p[i] as number;
          if (held.get(pfn) > 0) report(pageFact(ev, i, frames.gen.get(pfn)), pfn, 'reclaim dropped');
        }
      },
      folio_free(ev) {
        // Only frames a DMA reference was ever taken on have a count; the column is as long as the highest.
        const p = ev.pfns, h = held.a;
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
