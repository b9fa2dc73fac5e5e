/**
 * dma-into-reused-page (docs/invariants.md): a device accessed frame F through a translation obtained in
 * generation g, F has been freed since, and allocated again to any owner (the same process
 * included). Always reported together with dma-use-after-free.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { FrameHistory, pagesOf, RangeMap, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const gen = new RangeMap<number>();
  const hist = new FrameHistory();
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'folio_alloc': gen.set(ev.pfn, ev.gen, pagesOf(ev)); hist.note(ev.pfn, ev); break;
        case 'folio_free': case 'dma_ref_get': case 'filemap_remove': hist.note(ev.pfn, ev); break;
        case 'dma_access': {
          const g = gen.get(ev.pfn);
          if (g === undefined || g <= ev.gen) return;
          const a = hist.get(ev.pfn, 'folio_alloc');
          const who = a && a.type === 'folio_alloc' ? (a.file ? `${a.file}@${a.index}` : a.owner) : 'another owner';
          ctx.report({
            kind: 'dma-into-reused-page', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: `${ev.actor} ${ev.write ? 'wrote into' : 'read'} pfn 0x${ev.pfn.toString(16)}, freed and reallocated to ${who} since its translation was obtained`,
            chain: hist.chain(ev.pfn, ['dma_ref_get', 'filemap_remove', 'folio_free', 'folio_alloc'], ev),
          });
          break;
        }
        default: break;
      }
    },
    finish(): void {},
  };
}

export const dma_into_reused_page: Checker = { kind: 'dma-into-reused-page', description: 'a device accessed a frame freed and reallocated since its translation was obtained', create };
