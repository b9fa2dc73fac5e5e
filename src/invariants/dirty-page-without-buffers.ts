/**
 * dirty-page-without-buffers (docs/invariants.md): a file page cleaned by writeback and stripped of its
 * buffers was dirtied behind the filesystem's back — a DMA reference released with dirty
 * (set_page_dirty_lock / unpin_user_pages_dirty_lock) on a page no page_mkwrite re-armed: the S6
 * step of the put_user_page() story (docs/kernel-model.md).
 */
import { eachPage, u8Column } from './books.js';
import { toChains, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

/** Bits of a frame's state: cleaned by writeback since its last dirtying; its buffers gone since. */
const CLEANED = 1;
const STRIPPED = 2;

function create(ctx: CheckerCtx): CheckerInstance {
  const { history } = ctx.books;
  const state = u8Column();
  return {
    on: {
      folio_alloc(ev) {
        if (!ev.nr) state.set(ev.pfn, 0);
        else if (ev.pfn < state.a.length) state.a.fill(0, ev.pfn, ev.pfn + ev.nr);
      },
      folio_free(ev) {
        // Only frames writeback ever cleaned have a state; the column is as long as the highest.
        const p = ev.pfns, a = state.a;
        if (ev.nrs) {
          eachPage(p, ev.nrs, (pfn) => {
            if (pfn < a.length) a[pfn] = 0;
          });
          return;
        }
        for (let i = 0; i < p.length; i++) {
          const pfn = p[i] as number;
          if (pfn < a.length) a[pfn] = 0;
        }
      },
      storage_write(ev) {
        state.set(ev.pfn, CLEANED);
      },
      folio_buffers(ev) {
        const s = state.get(ev.pfn);
        if (!ev.attached && s & CLEANED) state.set(ev.pfn, s | STRIPPED);
        if (ev.attached) state.set(ev.pfn, s & ~STRIPPED);
      },
      folio_dirty(ev) {
        const s = state.get(ev.pfn);
        if (ev.file && !ev.buffers && s & STRIPPED && ev.via.startsWith('unpin')) {
          ctx.report({
            kind: 'dirty-page-without-buffers', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: `${ev.via.slice(6) || ev.actor} released its DMA reference on pfn 0x${ev.pfn.toString(16)} (${ev.file}@${ev.index}) with dirty after writeback cleaned it and reclaim stripped its buffers: dirtied behind ${ev.file}'s filesystem's back`,
            chain: toChains(history.chain(ev.pfn, ['dma_ref_get', 'storage_write', 'folio_buffers'], ev)),
          });
        }
        state.set(ev.pfn, s & ~CLEANED);
      },
    },
    finish(): void {},
    reset(): void {
      state.reset();
    },
  };
}

export const dirty_page_without_buffers: Checker = {
  kind: 'dirty-page-without-buffers', description: 'a cleaned, buffer-less file page was dirtied by a DMA reference release', create,
};
