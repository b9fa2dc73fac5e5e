/**
 * incoherent-mapping (docs/invariants.md): at a device access to virtual address v of mm M, the device's
 * frame differs from the frame of a present PTE for v in M (COW after fork, a re-fault after
 * MADV_DONTNEED, a new mapping at a VA the device still translates). Not checked where v has no
 * present PTE. The checker keeps its own page-table books from pte_set / pte_clear.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { FrameHistory, pagesOf, RangeMap, toChain, type Checker, type CheckerCtx } from './checker.js';

/** A page's size: trace addresses are byte addresses of pages. */
const PAGE = 4096;

function create(ctx: CheckerCtx) {
  /** Per mm: page number → the pte_set that maps it (a huge page's entry maps its `nr` pages). */
  const ptes = new Map<string, RangeMap<MmTraceEvent>>();
  const table = (mm: string): RangeMap<MmTraceEvent> => ptes.get(mm) ?? (ptes.set(mm, new RangeMap()), ptes.get(mm)!);
  const hist = new FrameHistory();
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'pte_set': table(ev.mm).set(ev.va / PAGE, ev, pagesOf(ev)); break;
        case 'pte_clear': table(ev.mm).set(ev.va / PAGE, undefined, pagesOf(ev)); hist.note(ev.pfn, ev); break;
        case 'dma_ref_get': case 'cow_copy': hist.note(ev.pfn, ev); break;
        case 'dma_access': {
          if (!ev.mm) return;
          const t = ptes.get(ev.mm);
          const p = t?.get(ev.va / PAGE);
          if (!t || !p || p.type !== 'pte_set') return;
          const off = t.lastOff;
          if (p.pfn + off === ev.pfn) return;
          ctx.report({
            kind: 'incoherent-mapping', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: `${ev.actor} ${ev.write ? 'wrote' : 'read'} pfn 0x${ev.pfn.toString(16)} for ${ev.mm} va 0x${ev.va.toString(16)}, but ${ev.mm}'s PTE there maps pfn 0x${(p.pfn + off).toString(16)}: CPU and device no longer share that page`,
            chain: [...hist.chain(ev.pfn, ['dma_ref_get', 'cow_copy', 'pte_clear'], ev).slice(0, -1), toChain(p), toChain(ev)],
          });
          break;
        }
        default: break;
      }
    },
    finish(): void {},
  };
}

export const incoherent_mapping: Checker = { kind: 'incoherent-mapping', description: "a device's frame differs from the CPU's PTE for the same address", create };
