/**
 * refcount-leak (docs/invariants.md): at the end of the run, a frame's refcount or pincount exceeds what its
 * holders account for (page cache, PTEs, DMA references), or nr_foll_pin_acquired −
 * nr_foll_pin_released differs from the live pins. The checker keeps its own books from the trace,
 * a count of references and one of pins per frame: every event that takes or drops a holder's
 * reference says so; a large folio's are booked on its head, as the kernel keeps them. At the end
 * it reads the live folios the run walks (frame_final). When kernel.until ended the run with kernel
 * paths in progress, the books are not a quiescent system's (a path it cut may hold a reference it
 * was about to put): an excess is then a note naming the frame and the stop.
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { i32Column, pageFact } from './books.js';
import { toChain, type Checker, type CheckerCtx, type CheckerInstance } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const refs = i32Column();
  const pins = i32Column();
  /** Each page of a large folio: its head + 1 (0: a folio of its own), as the frame table knows it. */
  const heads = i32Column();
  /** The frame a reference through @pfn is booked on: its folio's head. */
  const at = (pfn: number): number => (heads.get(pfn) || pfn + 1) - 1;
  let livePins = 0;
  /** Forget @pfn's books (a frame allocated or freed). */
  const reset = (pfn: number): void => {
    if (refs.get(pfn)) refs.set(pfn, 0);
    if (pins.get(pfn)) pins.set(pfn, 0);
    if (heads.get(pfn)) heads.set(pfn, 0);
  };
  const add = (pfn: number, d: number): void => refs.set(pfn, refs.get(pfn) + d);
  /** A DMA reference taken (@sign 1) or dropped (-1): a large folio's `nr` pages are each counted on its head. */
  const dma = (ev: MmEventOf<'dma_ref_get' | 'dma_ref_put'>, sign: number): void => {
    const at = ev.head ?? ev.pfn, nr = ev.nr ?? 1;
    add(at, sign * ev.refs * nr);
    if (!ev.pin) return;
    pins.set(at, pins.get(at) + sign * nr);
    livePins += sign * nr;
  };
  /** Forget the books of the @nr frames from @pfn (a large folio allocated or freed). */
  const resetRange = (pfn: number, nr: number): void => {
    if (pfn < refs.a.length) refs.a.fill(0, pfn, Math.min(pfn + nr, refs.a.length));
    if (pfn < pins.a.length) pins.a.fill(0, pfn, Math.min(pfn + nr, pins.a.length));
    if (pfn < heads.a.length) heads.a.fill(0, pfn, Math.min(pfn + nr, heads.a.length));
  };
  return {
    on: {
      folio_alloc(ev) {
        if (ev.nr) {
          resetRange(ev.pfn, ev.nr);
          heads.ensure(ev.pfn + ev.nr - 1);
          heads.a.fill(ev.pfn + 1, ev.pfn + 1, ev.pfn + ev.nr);
        } else reset(ev.pfn);
        if (ev.owner === 'dummy') refs.set(ev.pfn, 1); // the kernel keeps its dummy page
      },
      folio_free(ev) {
        const p = ev.pfns, r = refs.a, q = pins.a;
        if (ev.nrs) {
          for (let i = 0; i < p.length; i++) resetRange(p[i] as number, ev.nrs[i] as number);
          return;
        }
        for (let i = 0; i < p.length; i++) {
          const pfn = p[i] as number;
          if (pfn < r.length) r[pfn] = 0;
          if (pfn < q.length) q[pfn] = 0;
          if (pfn < heads.a.length) heads.a[pfn] = 0;
        }
      },
      filemap_add(ev) {
        add(ev.pfn, 1);
      },
      filemap_remove(ev) {
        const p = ev.pfns;
        for (let i = 0; i < p.length; i++) add(p[i] as number, -1);
      },
      pte_set(ev) {
        // A page of a PTE-mapped THP: the reference is its head's.
        if (ev.pfn !== 0) add(at(ev.pfn), 1);
      },
      thp_split_pmd(ev) {
        if (ev.refs) add(ev.pfn, ev.refs);
      },
      folio_split(ev) {
        add(ev.head, -ev.moved);
        add(ev.pfn, ev.refs);
        heads.set(ev.pfn, 0);
      },
      pte_clear(ev) {
        const p = ev.pfns;
        // A huge entry held one reference on its folio, whose head its first page is.
        if (ev.nr) {
          for (let i = 0; i < p.length; i += ev.nr) if ((p[i] as number) > 0) add(p[i] as number, -1);
          return;
        }
        let max = -1;
        for (let i = 0; i < p.length; i++) if ((p[i] as number) > max) max = p[i] as number;
        if (max <= 0) return;
        refs.ensure(max);
        const r = refs.a;
        for (let i = 0; i < p.length; i++) {
          const pfn = p[i] as number;
          if (pfn > 0) {
            const h = at(pfn);
            r[h] = (r[h] as number) - 1;
          }
        }
      },
      dma_ref_get(ev) {
        dma(ev, 1);
      },
      dma_ref_put(ev) {
        dma(ev, -1);
      },
      frame_final(ev) {
        ev.pfns.forEach((pfn, i) => {
          const want = refs.get(pfn), wantPins = pins.get(pfn);
          const refcount = ev.refcounts[i] as number, pincount = ev.pincounts[i] as number;
          if (refcount <= want && pincount <= wantPins) return;
          if (ctx.cutByUntil?.() === true) {
            ctx.note?.(`kernel.until${ctx.until !== undefined ? ` (${ctx.until} ns)` : ''} stopped the run with pfn ${pfn} holding refcount ${refcount}, pincount ${pincount} where its holders account for ${want} and ${wantPins}: a kernel path the stop cut had not put its reference yet; not a violation`);
            return;
          }
          ctx.report({
            kind: 'refcount-leak', time: ev.time, actor: ev.actor, pfn,
            message: `pfn 0x${pfn.toString(16)}: refcount ${refcount} (holders account for ${want}), pincount ${pincount} (pins account for ${wantPins})`,
            chain: [toChain(pageFact(ev, i, ev.gens[i] as number))],
          });
        });
      },
      vmstat_final(ev) {
        if (ev.nr_foll_pin_acquired - ev.nr_foll_pin_released === livePins) return;
        if (ctx.cutByUntil?.() === true) {
          ctx.note?.(`kernel.until stopped the run with nr_foll_pin_acquired − nr_foll_pin_released = ${ev.nr_foll_pin_acquired - ev.nr_foll_pin_released} and ${livePins} live pins: a pin in progress was cut; not a violation`);
          return;
        }
        ctx.report({
          kind: 'refcount-leak', time: ev.time, actor: ev.actor, pfn: -1,
          message: `nr_foll_pin_acquired ${ev.nr_foll_pin_acquired} − nr_foll_pin_released ${ev.nr_foll_pin_released} ≠ ${livePins} live pins`,
          chain: [toChain(ev)],
        });
      },
    },
    finish(): void {},
    reset(): void {
      refs.reset();
      pins.reset();
      heads.reset();
      livePins = 0;
    },
  };
}

export const refcount_leak: Checker = { kind: 'refcount-leak', description: 'a frame holds more references than its holders account for', create };
