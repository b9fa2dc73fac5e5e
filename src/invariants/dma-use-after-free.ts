/**
 * dma-use-after-free (docs/invariants.md): a device accessed frame F through a translation whose pfn was
 * obtained while F was in allocation generation g, and F has been freed since.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { FrameHistory, pagesOf, RangeMap, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const freedGen = new RangeMap<number>();
  const hist = new FrameHistory();
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'folio_free': freedGen.set(ev.pfn, ev.gen, pagesOf(ev)); hist.note(ev.pfn, ev); break;
        case 'dma_ref_get': case 'filemap_remove': hist.note(ev.pfn, ev); break;
        case 'dma_access': {
          const fg = freedGen.get(ev.pfn);
          if (fg === undefined || fg < ev.gen) return;
          ctx.report({
            kind: 'dma-use-after-free', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: `${ev.actor} ${ev.write ? 'wrote' : 'read'} pfn 0x${ev.pfn.toString(16)} through a translation obtained in generation ${ev.gen}, and the frame was freed since`,
            chain: hist.chain(ev.pfn, ['dma_ref_get', 'filemap_remove', 'folio_free'], ev),
          });
          break;
        }
        default: break;
      }
    },
    finish(): void {},
  };
}

export const dma_use_after_free: Checker = { kind: 'dma-use-after-free', description: 'a device accessed a frame freed since its translation was obtained', create };
