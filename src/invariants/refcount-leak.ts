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

/**
 * RefBooks - the references and pins each frame's holders account for, booked on a large folio's
 * head, and the live pins in all.
 */
class RefBooks {
  readonly refs = i32Column();
  readonly pins = i32Column();
  /** Each page of a large folio: its head + 1 (0: a folio of its own), as the frame table knows it. */
  readonly heads = i32Column();
  livePins = 0;

  /** The frame a reference through @pfn is booked on: its folio's head. */
  at(pfn: number): number {
    return (this.heads.get(pfn) || pfn + 1) - 1;
  }

  add(pfn: number, d: number): void {
    this.refs.set(pfn, this.refs.get(pfn) + d);
  }

  /** Forget @pfn's books (a frame allocated or freed). */
  forget(pfn: number): void {
    if (this.refs.get(pfn)) this.refs.set(pfn, 0);
    if (this.pins.get(pfn)) this.pins.set(pfn, 0);
    if (this.heads.get(pfn)) this.heads.set(pfn, 0);
  }

  /** Forget the books of the @nr frames from @pfn (a large folio allocated or freed). */
  forgetRange(pfn: number, nr: number): void {
    for (const c of [this.refs, this.pins, this.heads]) if (pfn < c.a.length) c.a.fill(0, pfn, Math.min(pfn + nr, c.a.length));
  }

  /** A DMA reference taken (@sign 1) or dropped (-1): a large folio's `nr` pages are each counted on its head. */
  dma(ev: MmEventOf<'dma_ref_get' | 'dma_ref_put'>, sign: number): void {
    const at = ev.head ?? ev.pfn, nr = ev.nr ?? 1;
    this.add(at, sign * ev.refs * nr);
    if (!ev.pin) return;
    this.pins.set(at, this.pins.get(at) + sign * nr);
    this.livePins += sign * nr;
  }

  onAlloc(ev: MmEventOf<'folio_alloc'>): void {
    if (ev.nr) {
      this.forgetRange(ev.pfn, ev.nr);
      this.heads.ensure(ev.pfn + ev.nr - 1);
      this.heads.a.fill(ev.pfn + 1, ev.pfn + 1, ev.pfn + ev.nr);
    } else this.forget(ev.pfn);
    if (ev.owner === 'dummy') this.refs.set(ev.pfn, 1); // the kernel keeps its dummy page
  }

  onFree(ev: MmEventOf<'folio_free'>): void {
    const p = ev.pfns;
    if (ev.nrs) {
      for (let i = 0; i < p.length; i++) this.forgetRange(p[i] as number, ev.nrs[i] as number);
      return;
    }
    const r = this.refs.a, q = this.pins.a, h = this.heads.a;
    for (let i = 0; i < p.length; i++) {
      const pfn = p[i] as number;
      if (pfn < r.length) r[pfn] = 0;
      if (pfn < q.length) q[pfn] = 0;
      if (pfn < h.length) h[pfn] = 0;
    }
  }

  onPteClear(ev: MmEventOf<'pte_clear'>): void {
    const p = ev.pfns;
    // A huge entry held one reference on its folio, whose head its first page is.
    if (ev.nr) {
      for (let i = 0; i < p.length; i += ev.nr) if ((p[i] as number) > 0) this.add(p[i] as number, -1);
      return;
    }
    let max = -1;
    for (let i = 0; i < p.length; i++) if ((p[i] as number) > max) max = p[i] as number;
    if (max <= 0) return;
    this.refs.ensure(max);
    const r = this.refs.a;
    for (let i = 0; i < p.length; i++) {
      const pfn = p[i] as number;
      if (pfn > 0) {
        const h = this.at(pfn);
        r[h] = (r[h] as number) - 1;
      }
    }
  }

  reset(): void {
    this.refs.reset();
    this.pins.reset();
    this.heads.reset();
    this.livePins = 0;
  }
}

/** frame_final: every live frame whose refcount or pincount exceeds what its holders account for. */
function checkFrames(ctx: CheckerCtx, b: RefBooks, ev: MmEventOf<'frame_final'>): void {
  ev.pfns.forEach((pfn, i) => {
    const want = b.refs.get(pfn), wantPins = b.pins.get(pfn);
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
}

/** vmstat_final: nr_foll_pin_acquired − nr_foll_pin_released against the live pins. */
function checkPinCounters(ctx: CheckerCtx, b: RefBooks, ev: MmEventOf<'vmstat_final'>): void {
  if (ev.nr_foll_pin_acquired - ev.nr_foll_pin_released === b.livePins) return;
  if (ctx.cutByUntil?.() === true) {
    ctx.note?.(`kernel.until stopped the run with nr_foll_pin_acquired − nr_foll_pin_released = ${ev.nr_foll_pin_acquired - ev.nr_foll_pin_released} and ${b.livePins} live pins: a pin in progress was cut; not a violation`);
    return;
  }
  ctx.report({
    kind: 'refcount-leak', time: ev.time, actor: ev.actor, pfn: -1,
    message: `nr_foll_pin_acquired ${ev.nr_foll_pin_acquired} − nr_foll_pin_released ${ev.nr_foll_pin_released} ≠ ${b.livePins} live pins`,
    chain: [toChain(ev)],
  });
}

function create(ctx: CheckerCtx): CheckerInstance {
  const b = new RefBooks();
  return {
    on: {
      folio_alloc: (ev) => b.onAlloc(ev),
      folio_free: (ev) => b.onFree(ev),
      filemap_add: (ev) => b.add(ev.pfn, 1),
      filemap_remove(ev) {
        const p = ev.pfns;
        for (let i = 0; i < p.length; i++) b.add(p[i] as number, -1);
      },
      pte_set(ev) {
        // A page of a PTE-mapped THP: the reference is its head's.
        if (ev.pfn !== 0) b.add(b.at(ev.pfn), 1);
      },
      thp_split_pmd(ev) {
        if (ev.refs) b.add(ev.pfn, ev.refs);
      },
      folio_split(ev) {
        b.add(ev.head, -ev.moved);
        b.add(ev.pfn, ev.refs);
        b.heads.set(ev.pfn, 0);
      },
      pte_clear: (ev) => b.onPteClear(ev),
      dma_ref_get: (ev) => b.dma(ev, 1),
      dma_ref_put: (ev) => b.dma(ev, -1),
      frame_final: (ev) => checkFrames(ctx, b, ev),
      vmstat_final: (ev) => checkPinCounters(ctx, b, ev),
    },
    finish(): void {},
    reset: () => b.reset(),
  };
}

export const refcount_leak: Checker = { kind: 'refcount-leak', description: 'a frame holds more references than its holders account for', create };
