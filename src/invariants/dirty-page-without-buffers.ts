/**
 * dirty-page-without-buffers (docs/invariants.md): a file page cleaned by writeback and stripped of its
 * buffers was dirtied behind the filesystem's back — a DMA reference released with dirty
 * (set_page_dirty_lock / unpin_user_pages_dirty_lock) on a page no page_mkwrite re-armed: the S6
 * step of the put_user_page() story (docs/kernel-model.md).
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { FrameHistory, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  /** pfns cleaned by writeback since their last dirtying, and whether their buffers went since */
  const cleaned = new Set<number>();
  const stripped = new Set<number>();
  const hist = new FrameHistory();
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'folio_alloc': case 'folio_free': cleaned.delete(ev.pfn); stripped.delete(ev.pfn); break;
        case 'storage_write': cleaned.add(ev.pfn); stripped.delete(ev.pfn); hist.note(ev.pfn, ev); break;
        case 'dma_ref_get': hist.note(ev.pfn, ev); break;
        case 'folio_buffers':
          if (!ev.attached && cleaned.has(ev.pfn)) { stripped.add(ev.pfn); hist.note(ev.pfn, ev); }
          if (ev.attached) stripped.delete(ev.pfn);
          break;
        case 'folio_dirty':
          if (ev.file && !ev.buffers && stripped.has(ev.pfn) && ev.via.startsWith('unpin')) {
            ctx.report({
              kind: 'dirty-page-without-buffers', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
              message: `${ev.via.slice(6) || ev.actor} released its DMA reference on pfn 0x${ev.pfn.toString(16)} (${ev.file}@${ev.index}) with dirty after writeback cleaned it and reclaim stripped its buffers: dirtied behind ${ev.file}'s filesystem's back`,
              chain: hist.chain(ev.pfn, ['dma_ref_get', 'storage_write', 'folio_buffers'], ev),
            });
          }
          cleaned.delete(ev.pfn);
          break;
        default: break;
      }
    },
    finish(): void {},
  };
}

export const dirty_page_without_buffers: Checker = {
  kind: 'dirty-page-without-buffers', description: 'a cleaned, buffer-less file page was dirtied by a DMA reference release', create,
};
