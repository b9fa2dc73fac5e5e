/**
 * The books checkers keep, shaped for ranges: columns of typed arrays indexed by pfn that grow to
 * the highest pfn they are told about (never sized by the machine), the frame books every checker
 * that reasons about frees shares (each frame's allocation generation and whether it is free), and
 * the chain history: the last event of each kind that touched a frame, kept so a violation can
 * tell its story. A range event is noted once, and each of its pages points into it (the event and
 * the page's position), so noting a 512-page zap costs two stores a page and keeps no per-page
 * object. An event no page points into any more is let go. (pinsim-only)
 */
import type { MmChainEvent, MmEventOf, MmEventType, MmPageFact, MmTraceEvent } from '../mm/trace_events.js';

type Column = Int32Array | Uint32Array | Uint8Array | Float64Array;

/** Rows from which a column grows by a quarter instead of doubling (as the frame table does). */
const GROW_LINEAR_FROM = 1 << 20;

/**
 * PfnColumn - one value per pfn in a typed array, read as @fill beyond what was ever set: it grows
 * to the highest pfn set, doubling while small, then by a quarter.
 */
export class PfnColumn<A extends Column> {
  /** The values; rows past its length read as the fill value. Hot loops index it directly after ensure(). */
  a: A;
  private readonly make: (n: number) => A;
  private readonly fill: number;

  constructor(make: (n: number) => A, fill = 0) {
    this.make = make;
    this.fill = fill;
    this.a = make(0);
  }

  /**
   * reset() - every row back to the fill value (for a machine reused by the next execution): it
   * reads as a new column does, and keeps its room.
   */
  reset(): void {
    this.a.fill(this.fill);
  }

  get(pfn: number): number {
    return pfn < this.a.length ? (this.a[pfn] as number) : this.fill;
  }

  set(pfn: number, v: number): void {
    if (pfn >= this.a.length) this.ensure(pfn);
    this.a[pfn] = v;
  }

  /**
   * ensure() - make room for pfn @pfn (rows up to it read as the fill value), and for @hint rows
   * when it grows at all (the frame books' size: a column that grows once grows to it at once).
   */
  ensure(pfn: number, hint = 0): void {
    if (pfn < this.a.length) return;
    let cap = Math.max(64, this.a.length, hint);
    while (cap <= pfn) cap = cap < GROW_LINEAR_FROM ? cap * 2 : cap + Math.ceil(cap / 4 / 4096) * 4096;
    const b = this.make(cap);
    b.set(this.a);
    if (this.fill !== 0) b.fill(this.fill, this.a.length);
    this.a = b;
  }
}

export const i32Column = (fill = 0): PfnColumn<Int32Array> => new PfnColumn((n) => new Int32Array(n), fill);
export const u32Column = (): PfnColumn<Uint32Array> => new PfnColumn((n) => new Uint32Array(n));
export const u8Column = (): PfnColumn<Uint8Array> => new PfnColumn((n) => new Uint8Array(n));
export const f64Column = (fill = 0): PfnColumn<Float64Array> => new PfnColumn((n) => new Float64Array(n), fill);

/** Interner - small ids for names (actors, address spaces, files), 1-based; 0 is no name. */
export class Interner {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [''];

  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }

  name(id: number): string {
    return this.names[id] ?? '';
  }

  /** reset() - forget every name, as made. */
  reset(): void {
    if (this.ids.size) this.ids.clear();
    this.names.length = 1;
  }
}

/**
 * FrameBooks - each frame's allocation generation (of its last folio_alloc, 0 never seen) and
 * whether it is free (a folio_free since its last folio_alloc), from the trace alone.
 */
export class FrameBooks {
  readonly gen = u32Column();
  readonly free = u8Column();

  /** Was frame @pfn freed since it was in generation @g? (It is free now at g, or was allocated again.) */
  freedSince(pfn: number, g: number): boolean {
    const cur = this.gen.get(pfn);
    return cur > g || (cur === g && this.free.get(pfn) === 1);
  }

  /** reset() - no frame known, as made. */
  reset(): void {
    this.gen.reset();
    this.free.reset();
  }

  onAlloc(ev: MmEventOf<'folio_alloc'>): void {
    const nr = ev.nr ?? 1;
    if (nr === 1) {
      this.gen.set(ev.pfn, ev.gen);
      this.free.set(ev.pfn, 0);
      return;
    }
    // A large folio: every page is in its generation, and no longer free.
    this.gen.ensure(ev.pfn + nr - 1);
    this.free.ensure(ev.pfn + nr - 1);
    this.gen.a.fill(ev.gen, ev.pfn, ev.pfn + nr);
    this.free.a.fill(0, ev.pfn, ev.pfn + nr);
  }

  onFree(ev: MmEventOf<'folio_free'>): void {
    const p = ev.pfns, nrs = ev.nrs;
    if (nrs) {
      for (let i = 0; i < p.length; i++) {
        const pfn = p[i] as number, nr = nrs[i] as number;
        this.free.ensure(pfn + nr - 1);
        this.free.a.fill(1, pfn, pfn + nr);
      }
      return;
    }
    let max = -1;
    for (let i = 0; i < p.length; i++) if ((p[i] as number) > max) max = p[i] as number;
    if (max < 0) return;
    this.free.ensure(max);
    const f = this.free.a;
    for (let i = 0; i < p.length; i++) f[p[i] as number] = 1;
  }
}

/**
 * eachPage() - hand @fn every page of the folios @pfns (their heads; @nrs their pages, absent when
 * each is one page) with the folio's position: what a range event over frames touched, page by page.
 */
export function eachPage(pfns: Int32Array, nrs: Int32Array | undefined, fn: (pfn: number, i: number) => void): void {
  for (let i = 0; i < pfns.length; i++) {
    const pfn = pfns[i] as number;
    if (pfn < 0) continue;
    const nr = nrs ? (nrs[i] as number) : 1;
    for (let j = 0; j < nr; j++) fn(pfn + j, i);
  }
}

/**
 * The page at position @i of range event @ev, as a chain step tells it; @gen its frame's generation
 * then. A page of a large folio (or of a huge entry) is told as the folio's (the entry's): its head
 * (its first address) and its pages, `nr`.
 */
export function pageFact(ev: MmEventOf<MmPageFact['type']>, i: number, gen: number): MmPageFact {
  const { time, actor } = ev;
  // A range event over a VA range is page-aligned: its page size is its span over its length.
  const va = 'start' in ev ? ev.start + (i * (ev.end - ev.start)) / ev.pfns.length : 0;
  const nr = 'nrs' in ev && ev.nrs ? (ev.nrs[i] as number) : 1;
  const large = nr > 1 ? { nr } : {};
  switch (ev.type) {
    case 'pte_clear': {
      if (!ev.nr) return { type: 'pte_clear', time, actor, mm: ev.mm, va, pfn: ev.pfns[i] as number, dirty: ev.dirty[i] === 1 };
      // The huge entry the page was mapped by: its first page.
      const j = i - (i % ev.nr);
      return { type: 'pte_clear', time, actor, mm: ev.mm, va: ev.start + (j * (ev.end - ev.start)) / ev.pfns.length, pfn: ev.pfns[j] as number, dirty: ev.dirty[j] === 1, nr: ev.nr };
    }
    case 'folio_free':
      return { type: 'folio_free', time, actor, pfn: ev.pfns[i] as number, gen, ...large };
    case 'filemap_remove':
      return {
        type: 'filemap_remove', time, actor, file: ev.file, index: ev.indices[i] as number, pfn: ev.pfns[i] as number, gen,
        refcount: ev.refcounts[i] as number, pincount: ev.pincounts[i] as number, reason: ev.reason, ...large,
      };
    case 'dev_map':
      return {
        type: 'dev_map', time, actor, device: ev.device, mm: ev.mm, va, pfn: ev.pfns[i] as number,
        gen: ev.gens[i] as number, file: ev.file, index: ev.indices[i] as number, write: ev.write[i] === 1, snapSeq: ev.snapSeq, holdsRef: ev.holdsRef,
      };
    case 'dev_unmap':
      return { type: 'dev_unmap', time, actor, device: ev.device, mm: ev.mm, va, pfn: ev.pfns[i] as number };
    case 'frame_final':
      return {
        type: 'frame_final', time, actor, pfn: ev.pfns[i] as number, gen: ev.gens[i] as number, refcount: ev.refcounts[i] as number,
        pincount: ev.pincounts[i] as number, mapcount: ev.mapcounts[i] as number, ...large,
      };
  }
}

/**
 * RangeNotes - for one range event type, which event (and which position in it) last touched each
 * frame. Events are kept in slots counted by the frames pointing into them, and let go at zero.
 */
class RangeNotes {
  /** Keep each frame's generation (frees and page-cache removals: their events do not carry it). */
  private readonly keepGen: boolean;
  private readonly slot = i32Column();
  private readonly pos = i32Column();
  /** The frame's generation when the event touched it (the event itself does not say). */
  private readonly gen = u32Column();
  private readonly events: (MmEventOf<MmPageFact['type']> | null)[] = [];
  private readonly refs: number[] = [];
  private readonly freeSlots: number[] = [];

  constructor(keepGen: boolean) {
    this.keepGen = keepGen;
  }

  reset(): void {
    this.slot.reset();
    this.pos.reset();
    this.gen.reset();
    this.events.length = 0;
    this.refs.length = 0;
    this.freeSlots.length = 0;
  }

  note(ev: MmEventOf<MmPageFact['type']>, pfns: Int32Array, frames: FrameBooks | null, nrs?: Int32Array): void {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.events.length;
      this.events.push(ev);
      this.refs.push(0);
    } else {
      this.events[s] = ev;
      this.refs[s] = 0;
    }
    let max = -1;
    for (let i = 0; i < pfns.length; i++) {
      const last = (pfns[i] as number) + (nrs ? (nrs[i] as number) - 1 : 0);
      if (last > max) max = last;
    }
    if (max < 0) {
      this.release(s);
      return;
    }
    const hint = frames ? frames.gen.a.length : 0;
    this.slot.ensure(max, hint);
    this.pos.ensure(max, hint);
    if (frames && this.keepGen) this.gen.ensure(max, hint);
    const slot = this.slot.a, pos = this.pos.a, gen = this.gen.a, refs = this.refs;
    for (let i = 0; i < pfns.length; i++) {
      const head = pfns[i] as number;
      if (head < 0) continue;
      // Every page of a large folio points to the folio's position.
      const end = nrs ? head + (nrs[i] as number) : head + 1;
      for (let pfn = head; pfn < end; pfn++) {
        const old = (slot[pfn] as number) - 1;
        if (old !== s) {
          if (old >= 0 && --(refs[old] as number) === 0) this.release(old);
          slot[pfn] = s + 1;
          (refs[s] as number)++;
        }
        pos[pfn] = i;
        if (frames && this.keepGen) gen[pfn] = frames.gen.get(pfn);
      }
    }
    if (refs[s] === 0) this.release(s);
  }

  private release(s: number): void {
    this.events[s] = null;
    this.freeSlots.push(s);
  }

  fact(pfn: number): MmPageFact | undefined {
    const s = this.slot.get(pfn) - 1;
    const ev = s >= 0 ? this.events[s] : null;
    return ev ? pageFact(ev, this.pos.get(pfn), this.gen.get(pfn)) : undefined;
  }
}

/** The event types a chain may name a frame's last one of, and how each is kept. */
const KEPT_RANGES = ['pte_clear', 'folio_free', 'filemap_remove'] as const;
const KEPT_EVENTS = ['dma_ref_get', 'cow_copy', 'storage_write', 'folio_buffers', 'folio_dirty', 'folio_alloc'] as const;
export type HistoryType = (typeof KEPT_RANGES)[number] | (typeof KEPT_EVENTS)[number];

/**
 * ChainHistory - the last event of each kind in HistoryType that touched each frame, so a checker
 * can tell a violation's story (the DMA reference, the removal from the page cache, the free, the
 * reuse). A folio_alloc is kept only when it reallocates a frame (generation 2 on): a story names a
 * frame's allocation only when it was reused.
 */
export class ChainHistory {
  private readonly ranges = new Map<HistoryType, RangeNotes>(KEPT_RANGES.map((t) => [t, new RangeNotes(t !== 'pte_clear')]));
  private readonly events = new Map<HistoryType, Map<number, MmTraceEvent>>(KEPT_EVENTS.map((t) => [t, new Map()]));
  private readonly frames: FrameBooks;
  /**
   * The folio_alloc and dma_ref_get events about a large folio's pages (made with the first), each
   * with when it was noted; while they exist, when each page's own event of those types was noted
   * (by pfn × 2, + 1 for dma_ref_get). Order-0 runs have neither.
   */
  private large: { pfn: number; nr: number; ev: MmEventOf<'folio_alloc' | 'dma_ref_get'>; seq: number }[] | null = null;
  private readonly eventSeq = new Map<number, number>();
  private seq = 0;

  constructor(frames: FrameBooks) {
    this.frames = frames;
  }

  /** reset() - no event kept, as made (the frame books are reset by their owner). */
  reset(): void {
    for (const r of this.ranges.values()) r.reset();
    for (const m of this.events.values()) if (m.size) m.clear();
    this.large = null;
    if (this.eventSeq.size) this.eventSeq.clear();
    this.seq = 0;
  }

  /** The event types the history reads. */
  static readonly types: readonly MmEventType[] = [...KEPT_RANGES, ...KEPT_EVENTS];

  /** on() - note @ev (one of ChainHistory.types). */
  on(ev: MmTraceEvent): void {
    switch (ev.type) {
      case 'pte_clear': (this.ranges.get('pte_clear') as RangeNotes).note(ev, ev.pfns, this.frames); break;
      case 'folio_free': (this.ranges.get('folio_free') as RangeNotes).note(ev, ev.pfns, this.frames, ev.nrs); break;
      case 'filemap_remove': (this.ranges.get('filemap_remove') as RangeNotes).note(ev, ev.pfns, this.frames, ev.nrs); break;
      case 'folio_alloc': if (ev.gen > 1) this.noteEvent(ev, ev.nr); break;
      case 'dma_ref_get': this.noteEvent(ev, ev.nr); break;
      case 'cow_copy': case 'storage_write': case 'folio_buffers': case 'folio_dirty':
        this.events.get(ev.type)?.set(ev.pfn, ev);
        break;
      default: break;
    }
  }

  /**
   * An event about @nr pages from its pfn (a large folio's): kept once, for every page of it; a
   * later one over the same pages replaces it.
   */
  private noteEvent(ev: MmEventOf<'folio_alloc' | 'dma_ref_get'>, nr: number | undefined): void {
    const seq = ++this.seq;
    if (nr === undefined || nr <= 1) {
      this.events.get(ev.type)?.set(ev.pfn, ev);
      if (this.large) this.eventSeq.set(ev.pfn * 2 + (ev.type === 'folio_alloc' ? 0 : 1), seq);
      return;
    }
    const l = (this.large ??= []);
    const at = l.findIndex((x) => x.ev.type === ev.type && x.pfn === ev.pfn && x.nr === nr);
    if (at >= 0) l.splice(at, 1);
    l.push({ pfn: ev.pfn, nr, ev, seq });
  }

  /** get() - the last event of @type that touched @pfn (one page of it, for a range event). */
  get(pfn: number, type: HistoryType): MmChainEvent | undefined {
    const r = this.ranges.get(type);
    if (r) return r.fact(pfn);
    const ev = this.events.get(type)?.get(pfn) as MmChainEvent | undefined;
    if (!this.large || (type !== 'folio_alloc' && type !== 'dma_ref_get')) return ev;
    // The latest of the page's own event and the large folios' events over it.
    let best = ev, bestSeq = ev ? (this.eventSeq.get(pfn * 2 + (type === 'folio_alloc' ? 0 : 1)) ?? 0) : -1;
    for (const x of this.large) {
      if (x.ev.type !== type || pfn < x.pfn || pfn >= x.pfn + x.nr || x.seq <= bestSeq) continue;
      best = x.ev;
      bestSeq = x.seq;
    }
    return best;
  }

  /** chain() - the events of @types that touched @pfn no later than @tail, in time order, then @tail. */
  chain(pfn: number, types: readonly HistoryType[], tail: MmChainEvent): MmChainEvent[] {
    const evs: MmChainEvent[] = [];
    for (const t of types) {
      const e = this.get(pfn, t);
      if (e !== undefined && e.time <= tail.time) evs.push(e);
    }
    evs.sort((a, b) => a.time - b.time);
    evs.push(tail);
    return evs;
  }
}

/**
 * PAGE_SHIFT - the page size the trace's virtual addresses are counted in (mm's PAGE_SHIFT: a
 * checker may not import the kernel model's values, so it is said again here; a test keeps the two
 * equal).
 */
export const PAGE_SHIFT = 12;
const PAGE = 2 ** PAGE_SHIFT;

/** The page number of virtual address @va. */
export function vpnOf(va: number): number {
  return Math.floor(va / PAGE);
}

const LEAF = 512;

/** One leaf of a VaTable: 512 entries in columns, and the bitmap of the present ones. */
class VaLeaf {
  readonly present = new Uint32Array(LEAF / 32);
  readonly pfn = new Int32Array(LEAF);
  readonly a = new Int32Array(LEAF);
  readonly c = new Int32Array(LEAF);
  readonly flags = new Uint8Array(LEAF);
  /** The Float64 column, made when a value other than the table's default is first stored. */
  b: Float64Array | null = null;
  count = 0;

  /** clean() - the leaf as new (its Float64 column, if made, all @bDefault, which reads as none). */
  clean(bDefault: number): VaLeaf {
    this.present.fill(0);
    this.pfn.fill(0);
    this.a.fill(0);
    this.c.fill(0);
    this.flags.fill(0);
    this.b?.fill(bDefault);
    this.count = 0;
    return this;
  }
}

/**
 * VaTable - what a checker knows per virtual page of one address space (a PTE, a device
 * translation): a pfn and three values (two integers, one float) and a byte of flags, in 512-entry
 * leaves of typed arrays with a presence bitmap. A walk over [first, end) touches only the leaves
 * of the range that exist and, inside one, only the present entries.
 */
/**
 * Leaves a reset() let go, for any table to reuse (cleaned first): a machine reused by the next
 * execution makes its tables' leaves once. No state: a leaf is taken clean.
 */
const spareLeaves: VaLeaf[] = [];
const SPARE_LEAVES_MAX = 256;

export class VaTable {
  private readonly leaves = new Map<number, VaLeaf>();
  private readonly bDefault: number;
  /** The leaf last looked up (runs of pages hit the same one). */
  private lastKey = -1;
  private lastLeaf: VaLeaf | undefined = undefined;
  count = 0;

  constructor(bDefault = -1) {
    this.bDefault = bDefault;
  }

  /** reset() - no entry, as made; the leaves are kept for the next use. */
  reset(): void {
    for (const leaf of this.leaves.values()) if (spareLeaves.length < SPARE_LEAVES_MAX) spareLeaves.push(leaf);
    if (this.leaves.size) this.leaves.clear();
    this.lastKey = -1;
    this.lastLeaf = undefined;
    this.count = 0;
  }

  private leafOf(key: number): VaLeaf | undefined {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastLeaf = this.leaves.get(key);
    }
    return this.lastLeaf;
  }

  /** set() - the entry of page @vpn (present from now on). */
  set(vpn: number, pfn: number, a: number, b: number, c: number, flags: number): void {
    const key = Math.floor(vpn / LEAF), j = vpn - key * LEAF;
    let leaf = this.leafOf(key);
    if (!leaf) {
      this.leaves.set(key, (leaf = spareLeaves.pop()?.clean(this.bDefault) ?? new VaLeaf()));
      this.lastLeaf = leaf;
    }
    const w = j >>> 5, bit = 1 << (j & 31);
    if (!((leaf.present[w] as number) & bit)) {
      leaf.present[w] = ((leaf.present[w] as number) | bit) >>> 0;
      leaf.count++;
      this.count++;
    }
    leaf.pfn[j] = pfn;
    leaf.a[j] = a;
    leaf.c[j] = c;
    leaf.flags[j] = flags;
    if (b !== this.bDefault || leaf.b) (leaf.b ??= new Float64Array(LEAF).fill(this.bDefault))[j] = b;
  }

  /** at() - the leaf and slot of page @vpn if its entry is present, else null. */
  private at(vpn: number): { leaf: VaLeaf; j: number } | null {
    const key = Math.floor(vpn / LEAF), j = vpn - key * LEAF;
    const leaf = this.leafOf(key);
    if (!leaf || !((leaf.present[j >>> 5] as number) & (1 << (j & 31)))) return null;
    return { leaf, j };
  }

  has(vpn: number): boolean {
    return this.at(vpn) !== null;
  }

  /** The entry of page @vpn: its pfn and values, or null. */
  get(vpn: number): { pfn: number; a: number; b: number; c: number; flags: number } | null {
    const x = this.at(vpn);
    if (!x) return null;
    const { leaf, j } = x;
    return { pfn: leaf.pfn[j] as number, a: leaf.a[j] as number, b: leaf.b ? (leaf.b[j] as number) : this.bDefault, c: leaf.c[j] as number, flags: leaf.flags[j] as number };
  }

  /** clear() - forget page @vpn's entry. Return: its `a` value, or null when none was present. */
  clear(vpn: number): number | null {
    const key = Math.floor(vpn / LEAF), j = vpn - key * LEAF;
    const leaf = this.leafOf(key);
    if (!leaf || !((leaf.present[j >>> 5] as number) & (1 << (j & 31)))) return null;
    leaf.present[j >>> 5] = ((leaf.present[j >>> 5] as number) & ~(1 << (j & 31))) >>> 0;
    this.count--;
    const a = leaf.a[j] as number;
    if (--leaf.count === 0) this.retire(key, leaf);
    return a;
  }

  /**
   * clearRun() - forget the pages @first + i for which @pfns[i] >= 0 (a range event's pages),
   * handing the `a` value of each entry that was present to @gone.
   */
  clearRun(first: number, pfns: Int32Array, gone?: (a: number) => void): void {
    if (this.count === 0) return;
    const end = first + pfns.length;
    for (let key = Math.floor(first / LEAF); key * LEAF < end; key++) {
      const leaf = this.leaves.get(key);
      if (!leaf) continue;
      const base = key * LEAF;
      const j0 = Math.max(first - base, 0), j1 = Math.min(end - 1 - base, LEAF - 1);
      let cleared = 0;
      for (let w = j0 >>> 5; w <= j1 >>> 5; w++) {
        // The bits of this word's pages the event names, then those of them present here.
        let mask = 0;
        const lo = Math.max(j0, w * 32), hi = Math.min(j1, w * 32 + 31);
        for (let j = lo; j <= hi; j++) if ((pfns[base + j - first] as number) >= 0) mask |= 1 << (j & 31);
        let hit = ((leaf.present[w] as number) & mask) >>> 0;
        if (!hit) continue;
        leaf.present[w] = ((leaf.present[w] as number) & ~hit) >>> 0;
        while (hit) {
          const low = hit & -hit;
          hit = (hit ^ low) >>> 0;
          cleared++;
          if (gone) gone(leaf.a[w * 32 + (31 - Math.clz32(low))] as number);
        }
      }
      if (!cleared) continue;
      this.count -= cleared;
      leaf.count -= cleared;
      if (leaf.count === 0) this.retire(key, leaf);
    }
  }

  /** An emptied leaf leaves the table for the spare ones (another table, or this one, cleans it when it takes it). */
  private retire(key: number, leaf: VaLeaf): void {
    this.leaves.delete(key);
    this.lastKey = -1;
    this.lastLeaf = undefined;
    if (spareLeaves.length < SPARE_LEAVES_MAX) spareLeaves.push(leaf);
  }

  /** walk() - hand @fn every present page of [first, end), in order; @fn may clear the page it is given. */
  walk(first: number, end: number, fn: (vpn: number) => void): void {
    if (end <= first || this.count === 0) return;
    // A checker may import only types from the engine: the walk of engine/bits.ts, said again.
    const k0 = Math.floor(first / LEAF), k1 = Math.floor((end - 1) / LEAF);
    const keys = k1 - k0 + 1 > this.leaves.size
      ? [...this.leaves.keys()].filter((k) => k >= k0 && k <= k1).sort((x, y) => x - y)
      : Array.from({ length: k1 - k0 + 1 }, (_, i) => k0 + i);
    for (const key of keys) {
      const leaf = this.leaves.get(key);
      if (!leaf) continue;
      const base = key * LEAF;
      const j0 = Math.max(first - base, 0), j1 = Math.min(end - 1 - base, LEAF - 1);
      for (let w = j0 >>> 5; w <= j1 >>> 5; w++) {
        let bits = leaf.present[w] as number;
        if (w === j0 >>> 5) bits &= ~0 << (j0 & 31);
        if (w === j1 >>> 5 && (j1 & 31) < 31) bits &= (1 << ((j1 & 31) + 1)) - 1;
        bits >>>= 0;
        while (bits) {
          const low = bits & -bits;
          bits = (bits ^ low) >>> 0;
          fn(base + w * 32 + (31 - Math.clz32(low)));
        }
      }
    }
  }
}

/**
 * SlotTable - objects many entries point to by a small integer (1-based), each counted by the
 * entries pointing to it and let go at zero, its slot reused.
 */
export class SlotTable<T> {
  private readonly items: (T | null)[] = [null];
  private readonly refs: number[] = [0];
  private readonly freeSlots: number[] = [];

  /** reset() - no item, as made. */
  reset(): void {
    this.items.length = 1;
    this.refs.length = 1;
    this.freeSlots.length = 0;
  }

  /** add() - keep @item with no reference yet. Return: its slot. */
  add(item: T): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) {
      this.items[s] = item;
      this.refs[s] = 0;
      return s;
    }
    this.items.push(item);
    this.refs.push(0);
    return this.items.length - 1;
  }

  get(slot: number): T | null {
    return this.items[slot] ?? null;
  }

  /** hold() - one more entry points to @slot. */
  hold(slot: number): void {
    this.refs[slot] = (this.refs[slot] as number) + 1;
  }

  /** put() - one entry fewer points to @slot; at none the item goes. */
  put(slot: number): void {
    const r = (this.refs[slot] as number) - 1;
    this.refs[slot] = r;
    if (r <= 0 && slot > 0) {
      this.items[slot] = null;
      this.freeSlots.push(slot);
    }
  }

  /** drop() - let @slot go if nothing points to it (an item added and never held). */
  drop(slot: number): void {
    if ((this.refs[slot] as number) <= 0 && slot > 0 && this.items[slot] !== null) {
      this.items[slot] = null;
      this.freeSlots.push(slot);
    }
  }
}
