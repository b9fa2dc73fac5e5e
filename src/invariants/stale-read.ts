/**
 * stale-read (docs/invariants.md): a device read of a page returned a content token other than the one a CPU
 * read of that address (or file offset) would return at the same instant. Not checked where there
 * is no VMA or the page is beyond EOF (the model reports cpuToken -1 there), nor for an access
 * already reported as incoherent-mapping (the CPU's PTE maps another frame).
 */
import { toChains, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const { history } = ctx.books;
  return {
    on: {
      dma_access(ev) {
        if (ev.write || ev.cpuToken < 0 || ev.token === ev.cpuToken) return;
        if (ev.cpuPfn >= 0 && ev.cpuPfn !== ev.pfn) return; // that is incoherent-mapping
        ctx.report({
          kind: 'stale-read', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
          message: `${ev.actor} read token ${ev.token} from pfn 0x${ev.pfn.toString(16)} at ${ev.mm} va 0x${ev.va.toString(16)}, where a CPU load would see token ${ev.cpuToken}`,
          chain: toChains(history.chain(ev.pfn, ['dma_ref_get', 'filemap_remove', 'pte_clear'], ev)),
        });
      },
    },
    finish(): void {},
    reset(): void {},
  };
}

export const stale_read: Checker = { kind: 'stale-read', description: 'a device read other content than a CPU read of the same address would', create };
