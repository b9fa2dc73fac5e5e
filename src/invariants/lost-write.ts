/**
 * lost-write (docs/invariants.md): a write that completed `ok` landed in a frame that at that instant was no
 * longer the page-cache page of the file index it was obtained for (removed by truncate, punch-hole
 * or invalidation while a reference kept it alive). Not lost: a write the file later discards by
 * truncating its own range, dirty data still cached at the end, a write into a freed frame (that is
 * dma-use-after-free), a write into a dummy page (dummy-page-dma). Reported at the write; also a
 * dirty page writeback skipped and dropped (ext4 ≥ 5.18 without buffers), reported at the skip.
 */
import type { MmTraceEvent, MmEventOf } from '../mm/trace_events.js';
import { FrameHistory, pagesOf, RangeMap, type Checker, type CheckerCtx, type ViolationReport } from './checker.js';

const CHAIN = ['dma_ref_get', 'filemap_remove'] as const;

function create(ctx: CheckerCtx) {
  /** Per file: index → the pfn of its page-cache page (a large folio: its first page's, plus the offset). */
  const caches = new Map<string, RangeMap<number>>();
  const cache = (f: string): RangeMap<number> => caches.get(f) ?? (caches.set(f, new RangeMap()), caches.get(f)!);
  const cached = (f: string, index: number): number | undefined => {
    const c = caches.get(f);
    const pfn = c?.get(index);
    return pfn === undefined ? undefined : pfn + (c as RangeMap<number>).lastOff;
  };
  const gen = new RangeMap<number>();
  const free = new RangeMap<boolean>();
  const hist = new FrameHistory();
  /** Writes of a DMA still in flight, reported only if it completes ok. */
  const pending = new Map<string, ViolationReport[]>();
  /** The durable token of each file page, from storage_write (never written: zero, token 0). */
  const stored = new Map<string, number>();

  function check(ev: MmEventOf<'dma_access'> | MmEventOf<'cpu_access'>): ViolationReport | null {
    if (!ev.write || ev.file === '' || ev.index < 0) return null;
    if (cached(ev.file, ev.index) === ev.pfn) return null;
    // Into a freed or reallocated frame: that is dma-use-after-free, not a lost write.
    if (free.get(ev.pfn) === true || gen.get(ev.pfn) !== ev.gen) return null;
    const removed = hist.get(ev.pfn, 'filemap_remove');
    const how = removed && removed.type === 'filemap_remove' ? `${removed.reason} removed it from ${ev.file}'s page cache` : `it is not ${ev.file}'s page cache page`;
    return {
      kind: 'lost-write', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
      message: `${ev.actor} wrote pfn 0x${ev.pfn.toString(16)} for ${ev.file}@${ev.index} after ${how}: the write never reaches ${ev.file}`,
      chain: hist.chain(ev.pfn, CHAIN, ev),
    };
  }

  return {
    on(ev: MmTraceEvent): void {
      switch (ev.type) {
        case 'folio_alloc': gen.set(ev.pfn, ev.gen, pagesOf(ev)); free.set(ev.pfn, false, pagesOf(ev)); break;
        case 'folio_free': free.set(ev.pfn, true, pagesOf(ev)); break;
        case 'filemap_add': cache(ev.file).set(ev.index, ev.pfn, pagesOf(ev)); break;
        case 'filemap_remove':
          if (cached(ev.file, ev.index) === ev.pfn) cache(ev.file).set(ev.index, undefined, pagesOf(ev));
          hist.note(ev.pfn, ev);
          break;
        case 'dma_ref_get': case 'folio_dirty': case 'folio_buffers': hist.note(ev.pfn, ev); break;
        case 'storage_write': stored.set(`${ev.file}:${ev.index}`, ev.token); break;
        case 'writeback_skip':
          // Nothing is lost when the page holds what storage already has.
          if ((stored.get(`${ev.file}:${ev.index}`) ?? 0) === ev.token) break;
          ctx.report({
            kind: 'lost-write', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
            message: `writeback skipped dirty pfn 0x${ev.pfn.toString(16)} (${ev.file}@${ev.index}) because it has no buffers: its data never reaches ${ev.file}`,
            chain: hist.chain(ev.pfn, ['dma_ref_get', 'folio_buffers', 'folio_dirty'], ev),
          });
          break;
        case 'cpu_access': { const v = check(ev); if (v) ctx.report(v); break; }
        case 'dma_access': {
          const v = check(ev);
          if (v) {
            const l = pending.get(ev.wr) ?? [];
            l.push(v);
            pending.set(ev.wr, l);
          }
          break;
        }
        case 'dma_complete': {
          const l = pending.get(ev.wr);
          pending.delete(ev.wr);
          if (l && ev.status === 'ok') for (const v of l) ctx.report(v);
          break;
        }
        default: break;
      }
    },
    finish(): void {},
  };
}

export const lost_write: Checker = { kind: 'lost-write', description: 'a completed write landed in a page no longer in its file', create };
