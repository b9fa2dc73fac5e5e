/**
 * The trace with every range event expanded into its pages (the events they were before ranges
 * existed), for tests that ask about one page: which frames were freed, which translation went.
 * A page's `gen` where the event does not carry it (a free, a page-cache removal) reads 0.
 */
import { pageFact } from '../../src/invariants/books.js';
import type { MmChainEvent, MmChainEventOf, MmTraceEvent } from '../../src/mm/trace_events.js';

export function pagesOf(evs: readonly MmTraceEvent[]): MmChainEvent[] {
  const out: MmChainEvent[] = [];
  for (const e of evs) {
    switch (e.type) {
      case 'pte_clear': case 'folio_free': case 'filemap_remove': case 'dev_map': case 'dev_unmap': case 'frame_final':
        e.pfns.forEach((pfn, i) => {
          if (pfn >= 0) out.push(pageFact(e, i, 0));
        });
        break;
      default: out.push(e);
    }
  }
  return out;
}

/** The events of @type in @evs, a range event's pages counted as events of their own. */
export function pagesOfType<T extends MmChainEvent['type']>(evs: readonly MmTraceEvent[], type: T): MmChainEventOf<T>[] {
  return pagesOf(evs).filter((e): e is MmChainEventOf<T> => e.type === type);
}
