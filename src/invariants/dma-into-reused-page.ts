/**
 * dma-into-reused-page (docs/invariants.md): a device accessed frame F through a translation obtained in
 * generation g, F has been freed since, and allocated again to any owner (the same process
 * included): its generation is past g. Always reported together with dma-use-after-free.
 */
import { toChains, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const { frames, history } = ctx.books;
  return {
    on: {
      dma_access(ev) {
        if (frames.gen.get(ev.pfn) <= ev.gen) return;
        const a = history.get(ev.pfn, 'folio_alloc');
        const who = a && a.type === 'folio_alloc' ? (a.file ? `${a.file}@${a.index}` : a.owner) : 'another owner';
        ctx.report({
          kind: 'dma-into-reused-page', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
          message: `${ev.actor} ${ev.write ? 'wrote into' : 'read'} pfn 0x${ev.pfn.toString(16)}, freed and reallocated to ${who} since its translation was obtained`,
          chain: toChains(history.chain(ev.pfn, ['dma_ref_get', 'filemap_remove', 'folio_free', 'folio_alloc'], ev)),
        });
      },
    },
    finish(): void {},
    reset(): void {},
  };
}

export const dma_into_reused_page: Checker = { kind: 'dma-into-reused-page', description: 'a device accessed a frame freed and reallocated since its translation was obtained', create };
