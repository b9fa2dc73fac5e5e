/**
 * dma-use-after-free (docs/invariants.md): a device accessed frame F through a translation whose pfn was
 * obtained while F was in allocation generation g, and F has been freed since. The frame books say
 * whether F was freed since g: it is free now at generation g, or it was allocated again.
 */
import { toChains, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const { frames, history } = ctx.books;
  return {
    on: {
      dma_access(ev) {
        if (!frames.freedSince(ev.pfn, ev.gen)) return;
        ctx.report({
          kind: 'dma-use-after-free', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
          message: `${ev.actor} ${ev.write ? 'wrote' : 'read'} pfn 0x${ev.pfn.toString(16)} through a translation obtained in generation ${ev.gen}, and the frame was freed since`,
          chain: toChains(history.chain(ev.pfn, ['dma_ref_get', 'filemap_remove', 'folio_free'], ev)),
        });
      },
    },
    finish(): void {},
    reset(): void {},
  };
}

export const dma_use_after_free: Checker = { kind: 'dma-use-after-free', description: 'a device accessed a frame freed since its translation was obtained', create };
