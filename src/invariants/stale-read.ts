/**
 * stale-read (docs/invariants.md): a device read of a page returned a content token other than the one a CPU
 * read of that address (or file offset) would return at the same instant. Not checked where there
 * is no VMA or the page is beyond EOF (the model reports cpuToken -1 there), nor for an access
 * already reported as incoherent-mapping (the CPU's PTE maps another frame).
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { FrameHistory, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const hist = new FrameHistory();
  const name = (t: number) => `token ${t}`;
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'dma_ref_get': case 'filemap_remove': case 'pte_clear': hist.note(ev.pfn, ev); break;
        case 'dma_access': {
          if (ev.write || ev.cpuToken < 0 || ev.token === ev.cpuToken) return;
          if (ev.cpuPfn >= 0 && ev.cpuPfn !== ev.pfn) return; // that is incoherent-mapping
          ctx.report({
            kind: 'stale-read', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: `${ev.actor} read ${name(ev.token)} from pfn 0x${ev.pfn.toString(16)} at ${ev.mm} va 0x${ev.va.toString(16)}, where a CPU load would see ${name(ev.cpuToken)}`,
            chain: hist.chain(ev.pfn, ['dma_ref_get', 'filemap_remove', 'pte_clear'], ev),
          });
          break;
        }
        default: break;
      }
    },
    finish(): void {},
  };
}

export const stale_read: Checker = { kind: 'stale-read', description: 'a device read other content than a CPU read of the same address would', create };
