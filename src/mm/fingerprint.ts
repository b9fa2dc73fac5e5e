/**
 * (pinsim-only) A fingerprint of the kernel model's state: frames, page tables, VMAs, page caches,
 * storage, DMA references, leases and notifier sequence numbers. With the actors' positions and the
 * devices' tables it identifies a state for the explorer's state cache.
 *
 * The large parts are sets of items, each hashed on its own and combined by XOR (a SetDigest): the
 * frames (one item per pfn below the high-water mark), each page table's and page cache's entries,
 * each file's storage, the DMA references, kcompactd's books and the entire mapcounts. A set's digest
 * does not depend on the order its items were reached in, so it can be kept up to date item by item:
 * - the page tables, page caches, storage and the two maps keep their own digests at every write
 *   (Radix, DigestMap);
 * - the frames and the DMA references are kept by FingerprintBooks, which recomputes only the items
 *   the trace events since the last fingerprint named (every event names the frames and the
 *   references it changed).
 * The small parts (VMAs, notifier state, hugetlb pools, leases) are hashed from scratch each time.
 * kernel_fingerprint() with no books is the reference: everything computed again from the state.
 * With books it must give the same number, which the fingerprint tests check at every choice point.
 */
import { Hasher, SetDigest } from '../engine/hash.js';
import type { Kernel } from './kernel.js';
import type { MemMap } from './mem_map.js';
import type { DmaRef } from './pin_registry.js';
import type { MmTraceEvent } from './trace_events.js';

const scratch = new Hasher();

/** The item of frame @pfn: a free frame is its pfn alone; an allocated one, its pfn and every column. */
function frameHash(m: MemMap, pfn: number): Hasher {
  if (m.free[pfn]) return scratch.reset().add(-pfn);
  return scratch.reset().add(pfn).add(m.refcount(pfn)).add(m.pincount(pfn)).add(m.mapcount(pfn))
    .add(m.flagsOf(pfn)).add(m.mappingOf(pfn)).add(m.indexOf(pfn))
    .add(m.genOf(pfn)).add(m.contentOf(pfn));
}

/** The item of a live DMA reference: its id and the pfn of each of its pages (-1: released). */
function pinHash(r: DmaRef): Hasher {
  const h = scratch.reset().add(r.id);
  for (const pfn of r.pfns) h.add(pfn);
  return h;
}

/**
 * FingerprintBooks - what makes kernel_fingerprint() incremental: the digest of the frames and of
 * the DMA references, with each item's last hash, and the items named by trace events since the
 * last fingerprint (dirty). Fed by observe() with every trace event; reset() with the machine (a
 * new execution starts from the empty books).
 */
export class FingerprintBooks {
  /** Frames [1, covered) are in `frames`, each with its hash in itemA/itemB. */
  private covered = 1;
  private readonly frames = new SetDigest();
  private itemA = new Int32Array(0);
  private itemB = new Int32Array(0);
  /** Frames named since the last fingerprint, once each. */
  private dirty = new Int32Array(64);
  private nDirty = 0;
  private isDirty = new Uint8Array(0);
  /** The large folios marked since the last fingerprint: head → the end of the pages marked. */
  private readonly largeMarked = new Map<number, number>();
  /** The live DMA references' digest, each reference's hash by id, and the ids named since. */
  private readonly pins = new SetDigest();
  private readonly pinItems = new Map<number, { a: number; b: number }>();
  private readonly dirtyPins = new Set<number>();
  /** The kernel the books hold (null: none yet; another kernel starts them again). */
  private kernel: Kernel | null = null;
  private mem: MemMap | null = null;

  reset(): void {
    this.covered = 1;
    this.frames.reset();
    this.nDirty = 0;
    this.isDirty.fill(0);
    this.largeMarked.clear();
    this.pins.reset();
    this.pinItems.clear();
    this.dirtyPins.clear();
    this.kernel = null;
    this.mem = null;
  }

  /** sync() - start the books again from @k's state if they hold another kernel's (or none). */
  private sync(k: Kernel): void {
    if (this.kernel === k && k.mem.highWater >= this.covered) return;
    this.reset();
    this.kernel = k;
    this.mem = k.mem;
    for (const id of k.pins.live.keys()) this.dirtyPins.add(id);
  }

  /** markFrame() - frame @pfn may have changed (ignored beyond the frames the books hold yet). */
  markFrame(pfn: number): void {
    if (!(pfn >= 1 && pfn < this.covered) || this.isDirty[pfn]) return;
    this.isDirty[pfn] = 1;
    if (this.nDirty === this.dirty.length) {
      const d = new Int32Array(this.dirty.length * 2);
      d.set(this.dirty);
      this.dirty = d;
    }
    this.dirty[this.nDirty++] = pfn;
  }

  /** markFolio() - every page of the folio of @pfn (at least @nr pages from its head) may have changed. */
  markFolio(pfn: number, nr = 1): void {
    const m = this.mem;
    if (!m || !(pfn >= 1 && pfn < this.covered)) return;
    const head = m.folio_head(pfn);
    const end = Math.min(this.covered, Math.max(head + m.folio_nr_pages(head), pfn + nr));
    if (end - head > 1) {
      // A large folio is named by event after event: its pages are marked once per fingerprint.
      if ((this.largeMarked.get(head) ?? 0) >= end) return;
      this.largeMarked.set(head, end);
    }
    for (let p = head; p < end; p++) this.markFrame(p);
  }

  /**
   * observe() - take what @ev names: every frame (`pfn`, `head`, `new`, `old`, `dummy`, each of `pfns`),
   * with its whole folio, and the DMA reference (`ref`). The frequent events by their fields; the
   * others by looking for those fields.
   */
  observe(ev: MmTraceEvent): void {
    switch (ev.type) {
      case 'op_start': case 'op_end': case 'fault': case 'notifier_start': case 'notifier_end':
      case 'notifier_sub_done': case 'notifier_sub_end': case 'dma_start': case 'dma_complete': case 'vma':
        return;
      case 'folio_alloc': case 'filemap_add': case 'cpu_access': case 'dma_access':
        this.markFolio(ev.pfn, ev.type === 'folio_alloc' || ev.type === 'filemap_add' ? ev.nr ?? 1 : 1);
        return;
      case 'pte_set':
        this.markFolio(ev.pfn, ev.nr ?? 1);
        if (ev.head !== undefined) this.markFolio(ev.head);
        return;
      case 'dma_ref_get': case 'dma_ref_put':
        this.dirtyPins.add(ev.ref);
        this.markFolio(ev.pfn, ev.nr ?? 1);
        if (ev.head !== undefined) this.markFolio(ev.head);
        return;
      default:
        this.observeAny(ev);
    }
  }

  private observeAny(ev: MmTraceEvent): void {
    const e: Readonly<Record<string, unknown>> = ev;
    const nr = typeof e['nr'] === 'number' ? e['nr'] : 1;
    for (const f of FRAME_FIELDS) {
      const p = e[f];
      if (typeof p === 'number' && p > 0) this.markFolio(p, nr);
    }
    const pfns = e['pfns'];
    if (pfns instanceof Int32Array) {
      const nrs = e['nrs'];
      for (let i = 0; i < pfns.length; i++) {
        const p = pfns[i] as number;
        if (p > 0) this.markFolio(p, nrs instanceof Int32Array ? (nrs[i] as number) : 1);
      }
    }
  }

  /** framesDigest() - the digest of frames [1, highWater) of @k, brought up to date. */
  framesDigest(k: Kernel): SetDigest {
    this.sync(k);
    const m = k.mem;
    this.grow(m);
    for (let i = 0; i < this.nDirty; i++) {
      const pfn = this.dirty[i] as number;
      this.isDirty[pfn] = 0;
      this.frames.toggleLanes(this.itemA[pfn] as number, this.itemB[pfn] as number);
      this.setItem(m, pfn);
    }
    this.nDirty = 0;
    this.largeMarked.clear();
    return this.frames;
  }

  /** pinsDigest() - the digest of @k's live DMA references, brought up to date. */
  pinsDigest(k: Kernel): SetDigest {
    this.sync(k);
    for (const id of this.dirtyPins) this.repin(k, id);
    this.dirtyPins.clear();
    // A reference is made, or given up before it held a page, with no event: one live reference
    // the books lack is taken in (the live ones are few: one per pinning call, not per page), then
    // the books hold as many as are live unless some are gone.
    const live = k.pins.live;
    for (const id of live.keys()) if (!this.pinItems.has(id)) this.repin(k, id);
    if (live.size !== this.pinItems.size) for (const id of this.pinItems.keys()) if (!live.has(id)) this.repin(k, id);
    return this.pins;
  }

  /** repin() - hash DMA reference @id again (out of the books if it is no longer live). */
  private repin(k: Kernel, id: number): void {
    const old = this.pinItems.get(id);
    if (old) {
      this.pins.toggleLanes(old.a, old.b);
      this.pinItems.delete(id);
    }
    const r = k.pins.live.get(id);
    if (!r) return;
    const h = pinHash(r);
    const item = { a: SetDigest.itemA(h), b: SetDigest.itemB(h) };
    this.pins.toggleLanes(item.a, item.b);
    this.pinItems.set(id, item);
  }

  /**
   * stale() - (for the checked fingerprint's message) what the books hold that differs from @k's
   * state now: the frames and DMA references changed since they were last hashed with no trace
   * event naming them. Call right after a fingerprint.
   */
  stale(k: Kernel): string {
    const out: string[] = [];
    for (let pfn = 1; pfn < this.covered && out.length < 8; pfn++) {
      const h = frameHash(k.mem, pfn);
      if (SetDigest.itemA(h) !== this.itemA[pfn] || SetDigest.itemB(h) !== this.itemB[pfn]) out.push(`frame ${pfn}`);
    }
    const ids = new Set([...this.pinItems.keys(), ...k.pins.live.keys()]);
    for (const id of ids) {
      const r = k.pins.live.get(id), item = this.pinItems.get(id);
      const h = r ? pinHash(r) : null;
      if (!h || !item || SetDigest.itemA(h) !== item.a || SetDigest.itemB(h) !== item.b) out.push(`DMA reference ${id}`);
    }
    return out.length ? out.join(', ') : 'none of the frames or DMA references';
  }

  /** Take frames [covered, highWater) into the books, each hashed once. */
  private grow(m: MemMap): void {
    const hw = m.highWater;
    if (hw <= this.covered) return;
    if (this.itemA.length < hw) {
      const cap = Math.max(hw, this.itemA.length * 2);
      const a = new Int32Array(cap), b = new Int32Array(cap), d = new Uint8Array(cap);
      a.set(this.itemA);
      b.set(this.itemB);
      d.set(this.isDirty);
      this.itemA = a;
      this.itemB = b;
      this.isDirty = d;
    }
    for (let pfn = this.covered; pfn < hw; pfn++) this.setItem(m, pfn);
    this.covered = hw;
  }

  private setItem(m: MemMap, pfn: number): void {
    const h = frameHash(m, pfn);
    const a = SetDigest.itemA(h), b = SetDigest.itemB(h);
    this.itemA[pfn] = a;
    this.itemB[pfn] = b;
    this.frames.toggleLanes(a, b);
  }
}

/** The fields of a trace event that name a frame. */
const FRAME_FIELDS = ['pfn', 'head', 'new', 'old', 'dummy'] as const;

/** The frames' digest from scratch. */
function framesFromScratch(m: MemMap): SetDigest {
  const d = new SetDigest();
  for (let pfn = 1; pfn < m.highWater; pfn++) d.toggle(frameHash(m, pfn));
  return d;
}

/** The live DMA references' digest from scratch. */
function pinsFromScratch(k: Kernel): SetDigest {
  const d = new SetDigest();
  for (const r of k.pins.live.values()) d.toggle(pinHash(r));
  return d;
}

/**
 * kernel_fingerprint() - add @k's state to @h: with @books, their digests and those the page
 * tables, page caches and maps keep; without, every digest computed again (the reference).
 */
export function kernel_fingerprint(k: Kernel, h: Hasher, books: FingerprintBooks | null = null): void {
  const m = k.mem;
  const fresh = books === null;
  h.add(m.highWater);
  (books ? books.framesDigest(k) : framesFromScratch(m)).addTo(h);
  (fresh ? m.entire_mapcount.digestFromScratch() : m.entire_mapcount.digest).addTo(h);
  for (const hs of k.hugetlb.hstates.values()) {
    if (hs.nr_huge_pages === 0) continue;
    h.add(hs.order).add(hs.nr_huge_pages).add(hs.free_huge_pages).add(hs.resv_huge_pages);
    for (const head of hs.freelist) h.add(head);
  }
  for (const p of k.processes.values()) {
    h.addString(p.name).add(p.alive ? 1 : 0).add(p.mm.pinned_vm).add(p.mm.dead ? 1 : 0);
    for (const v of p.mm.vmas) h.add(v.vm_start).add(v.vm_end).add(v.vm_flags).add(v.vm_pgoff).add(v.vm_file?.id ?? 0);
    (fresh ? p.mm.pgtable.digestFromScratch() : p.mm.pgtable.digest).addTo(h);
    const s = p.mm.notifier_subscriptions;
    if (s) h.add(s.invalidate_seq).add(s.active_invalidate_ranges).add(s.itree.length).add(s.deferred.length);
  }
  for (const ino of k.inodes.values()) {
    h.add(ino.id).add(ino.i_size);
    (fresh ? ino.i_mapping.i_pages.digestFromScratch() : ino.i_mapping.i_pages.digest).addTo(h);
    (fresh ? ino.storage.digestFromScratch() : ino.storage.digest).addTo(h);
  }
  (books ? books.pinsDigest(k) : pinsFromScratch(k)).addTo(h);
  for (const l of k.leases.leases) h.add(l.inode.id).add(l.broken ? 1 : 0);
  // kcompactd's books decide what its next pass migrates.
  (fresh ? k.compacted.digestFromScratch() : k.compacted.digest).addTo(h);
}
