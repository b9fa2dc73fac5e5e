/**
 * pinned-page-moved (docs/invariants.md): migration, compaction or reclaim moved or freed a page holding a
 * DMA reference. The checker keeps its own books of DMA references per frame.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { FrameHistory, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const held = new Map<number, number>();
  const hist = new FrameHistory();
  const report = (ev: MmTraceEvent, pfn: number, what: string) => ctx.report({
    kind: 'pinned-page-moved', time: ev.time, actor: ev.actor, pfn,
    message: `${what} pfn 0x${pfn.toString(16)} while ${held.get(pfn)} DMA reference(s) hold it: the device keeps the old frame`,
    chain: hist.chain(pfn, ['dma_ref_get'], ev),
  });
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        // A large folio's references are booked on its head, which migration, reclaim and free name.
        case 'dma_ref_get': if (ev.refs) { held.set(ev.head ?? ev.pfn, (held.get(ev.head ?? ev.pfn) ?? 0) + (ev.nr ?? 1)); hist.note(ev.head ?? ev.pfn, ev); } break;
        case 'dma_ref_put': if (ev.refs) held.set(ev.head ?? ev.pfn, (held.get(ev.head ?? ev.pfn) ?? 0) - (ev.nr ?? 1)); break;
        case 'folio_migrate': if ((held.get(ev.old) ?? 0) > 0) report(ev, ev.old, `migration moved ${ev.mm} va 0x${ev.va.toString(16)} away from`); break;
        case 'filemap_remove': if (ev.reason === 'reclaim' && (held.get(ev.pfn) ?? 0) > 0) report(ev, ev.pfn, 'reclaim dropped'); break;
        case 'folio_free': if ((held.get(ev.pfn) ?? 0) > 0) report(ev, ev.pfn, 'the allocator freed'); break;
        default: break;
      }
    },
    finish(): void {},
  };
}

export const pinned_page_moved: Checker = { kind: 'pinned-page-moved', description: 'migration, compaction or reclaim moved or freed a DMA-referenced page', create };
