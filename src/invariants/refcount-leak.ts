/**
 * refcount-leak (docs/invariants.md): at the end of the run, a frame's refcount or pincount exceeds what its
 * holders account for (page cache, PTEs, DMA references), or nr_foll_pin_acquired −
 * nr_foll_pin_released differs from the live pins. The checker keeps its own books from the trace:
 * every event that takes or drops a holder's reference says so. When kernel.until ended the run
 * with kernel paths in progress, the books are not a quiescent system's (a path it cut may hold a
 * reference it was about to put): an excess is then a note naming the frame and the stop.
 */
import type { MmTraceEvent } from '../mm/trace_events.js';
import { toChain, type Checker, type CheckerCtx } from './checker.js';

function create(ctx: CheckerCtx) {
  const refs = new Map<number, number>();
  const pins = new Map<number, number>();
  let livePins = 0;
  const add = (m: Map<number, number>, pfn: number, d: number) => m.set(pfn, (m.get(pfn) ?? 0) + d);
  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'folio_alloc':
          refs.delete(ev.pfn);
          pins.delete(ev.pfn);
          if (ev.owner === 'dummy') refs.set(ev.pfn, 1); // the kernel keeps its dummy page
          break;
        case 'folio_free': refs.delete(ev.pfn); pins.delete(ev.pfn); break;
        case 'filemap_add': add(refs, ev.pfn, 1); break;
        case 'filemap_remove': add(refs, ev.pfn, -1); break;
        // A page of a PTE-mapped THP: the reference is its head's.
        case 'pte_set': if (ev.pfn !== 0) add(refs, ev.head ?? ev.pfn, 1); break;
        case 'pte_clear': if (ev.pfn !== 0) add(refs, ev.head ?? ev.pfn, -1); break;
        case 'thp_split_pmd': if (ev.refs) add(refs, ev.pfn, ev.refs); break;
        case 'folio_split': add(refs, ev.head, -ev.moved); add(refs, ev.pfn, ev.refs); break;
        case 'dma_ref_get': {
          // A large folio's pages: `nr` of them, each counted on the folio's head.
          const at = ev.head ?? ev.pfn, nr = ev.nr ?? 1;
          add(refs, at, ev.refs * nr);
          if (ev.pin) { add(pins, at, nr); livePins += nr; }
          break;
        }
        case 'dma_ref_put': {
          const at = ev.head ?? ev.pfn, nr = ev.nr ?? 1;
          add(refs, at, -ev.refs * nr);
          if (ev.pin) { add(pins, at, -nr); livePins -= nr; }
          break;
        }
        case 'frame_final': {
          const want = refs.get(ev.pfn) ?? 0, wantPins = pins.get(ev.pfn) ?? 0;
          if ((ev.refcount > want || ev.pincount > wantPins) && ctx.cutByUntil?.() === true) {
            ctx.note?.(`kernel.until${ctx.until !== undefined ? ` (${ctx.until} ns)` : ''} stopped the run with pfn ${ev.pfn} holding refcount ${ev.refcount}, pincount ${ev.pincount} where its holders account for ${want} and ${wantPins}: a kernel path the stop cut had not put its reference yet; not a violation`);
          } else if (ev.refcount > want || ev.pincount > wantPins) {
            ctx.report({
              kind: 'refcount-leak', time: ev.time, actor: ev.actor, pfn: ev.pfn,
              message: `pfn 0x${ev.pfn.toString(16)}: refcount ${ev.refcount} (holders account for ${want}), pincount ${ev.pincount} (pins account for ${wantPins})`,
              chain: [toChain(ev)],
            });
          }
          break;
        }
        case 'vmstat_final':
          if (ev.nr_foll_pin_acquired - ev.nr_foll_pin_released !== livePins && ctx.cutByUntil?.() === true) {
            ctx.note?.(`kernel.until stopped the run with nr_foll_pin_acquired − nr_foll_pin_released = ${ev.nr_foll_pin_acquired - ev.nr_foll_pin_released} and ${livePins} live pins: a pin in progress was cut; not a violation`);
          } else if (ev.nr_foll_pin_acquired - ev.nr_foll_pin_released !== livePins) {
            ctx.report({
              kind: 'refcount-leak', time: ev.time, actor: ev.actor, pfn: -1,
              message: `nr_foll_pin_acquired ${ev.nr_foll_pin_acquired} − nr_foll_pin_released ${ev.nr_foll_pin_released} ≠ ${livePins} live pins`,
              chain: [toChain(ev)],
            });
          }
          break;
        default: break;
      }
    },
    finish(): void {},
  };
}

export const refcount_leak: Checker = { kind: 'refcount-leak', description: 'a frame holds more references than its holders account for', create };
