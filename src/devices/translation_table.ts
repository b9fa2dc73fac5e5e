/**
 * (pinsim-only) The device translation table: what a device reaches memory through, one entry per
 * user page of one address space — an mlx5 MR's MTT, an ODP umem's DMA list, dmirror's `pt`
 * xarray. Every device model keeps its translations here, so that they all cost the same and read
 * the same in traces and fingerprints.
 *
 * Storage is radix-like: 512-entry leaves of typed arrays (pfn, IOVA, generation, the file page it
 * was obtained for, WRITE/ATOMIC tags) with a presence bitmap, keyed by page index. A walk over
 * [first, end) touches only the leaves that exist in the range and, inside a leaf, only the set
 * bits of the bitmap, so an invalidation costs what it covers, never the table's size. `visited`
 * counts the entries walks have handed out, for tests that check exactly that.
 *
 * Installing an entry DMA-maps the page (through the device's IOMMU domain when it has one) and,
 * in a traced table, is traced as `dev_map`; erasing DMA-unmaps it and is traced as `dev_unmap`.
 * What a driver does to many entries under its lock is one event per run of entries of one leaf
 * (a map batch, eraseRange()): a device-table update costs one event per 512 pages at most, not one
 * per page. A table with a reverse map also finds the entries that translate to a given pfn (what a
 * proposal acting on a pinned page asks of an MR).
 */
import { anySetBit, firstSetBit, forEachSetBit, lastSetBit, leafKeysIn, rangeMask } from '../engine/bits.js';
import { PINSIM_BUG } from '../engine/bug.js';
import { Hasher, SetDigest } from '../engine/hash.js';
import type { IommuDomain } from '../mm/iommu.js';
import type { Kernel } from '../mm/kernel.js';
import { PageArrays } from '../mm/page_arrays.js';
import { withBook } from '../mm/trace_events.js';
import { PAGE_SIZE } from '../mm/types.js';

/**
 * What a translation needs of its device: the kernel, the device's name and its IOMMU domain. A
 * DeviceCtx is one; naming only these keeps this file from importing the plugin contract back.
 */
export interface TranslationCtx {
  readonly k: Kernel;
  readonly name: string;
  readonly iommu: IommuDomain | null;
}

/** One page a device reaches through a translation: where it points and what it was obtained for. */
export interface Translation {
  pfn: number;
  /** The IOVA page the device uses when it sits behind an IOMMU, else -1. */
  iova: number;
  /** The frame's allocation generation when the pfn was obtained. */
  gen: number;
  file: string;
  index: number;
  mm: string;
  va: number;
}

/**
 * dma_map_translation() - give the device a translation for @pfn: through its IOMMU domain when it
 * has one (an IOVA), else the physical address. @gen: the generation the pfn was obtained in (a
 * walk's snapshot may be older than the install), else the frame's current one.
 * Context: any; no sleep (one IOVA allocated when the device has an IOMMU).
 * Return: the translation. Pairs with dma_unmap_translation().
 * Kernel: include/linux/dma-mapping.h dma_map_page(); drivers/iommu/dma-iommu.c.
 */
export function dma_map_translation(ctx: TranslationCtx, pfn: number, mm: string, va: number, gen?: number): Translation {
  const k = ctx.k;
  const o = k.owner_of(pfn);
  return { pfn, iova: ctx.iommu ? ctx.iommu.dma_map_page(pfn) : -1, gen: gen ?? k.mem.genOf(pfn), file: o.file, index: o.index, mm, va };
}

/**
 * dma_unmap_translation() - the device's IOVA for @x stops translating (a device without an IOMMU
 * has nothing to unmap). Pairs with dma_map_translation().
 * Context: any; no sleep (no IOTLB to flush in pinsim). Return: nothing.
 * Kernel: include/linux/dma-mapping.h dma_unmap_page().
 */
export function dma_unmap_translation(ctx: TranslationCtx, x: Translation): void {
  if (ctx.iommu && x.iova >= 0) ctx.iommu.dma_unmap_page(x.iova);
}

/**
 * trace_dev_map() - (pinsim-only) trace the translations a device installed of pages [@first,
 * @first + pfns.length) of @mm under its driver's lock: @pfns[i] (-1 none), obtained in generation
 * @gens[i] for page @indices[i] of @file ('' and -1 for none), @write[i] the WRITE access, all from
 * a page-table walk at trace position @snapSeq (what install-during-invalidation orders), booked
 * under the subscription @sub that guards the table (null: none).
 * Context: the driver's table lock held. Return: nothing. Kernel: none (the device's MTT writes).
 */
export function trace_dev_map(
  ctx: TranslationCtx, mm: string, first: number, file: string, pfns: Int32Array, gens: Uint32Array, indices: Float64Array, write: Uint8Array,
  snapSeq: number, holdsRef: boolean, sub: number | null = null,
): void {
  const k = ctx.k;
  k.emit(withBook({
    type: 'dev_map', time: k.now, actor: ctx.name, device: ctx.name, mm, start: first * PAGE_SIZE, end: (first + pfns.length) * PAGE_SIZE,
    file, pfns, gens, indices, write, snapSeq, holdsRef,
  }, sub));
}

/**
 * trace_dev_unmap() - (pinsim-only) trace the translations a device dropped of pages [@first,
 * @first + pfns.length) of @mm: @pfns[i] the frame page i translated to (-1 none); @sub as for
 * trace_dev_map().
 * Context: the driver's table lock held. Return: nothing. Kernel: none (the device's MTT clears).
 */
export function trace_dev_unmap(ctx: TranslationCtx, mm: string, first: number, pfns: Int32Array, sub: number | null = null): void {
  const k = ctx.k;
  k.emit(withBook({ type: 'dev_unmap', time: k.now, actor: ctx.name, device: ctx.name, mm, start: first * PAGE_SIZE, end: (first + pfns.length) * PAGE_SIZE, pfns }, sub));
}

const LEAF_SHIFT = 9;
const LEAF_SIZE = 1 << LEAF_SHIFT;
const LEAF_MASK = LEAF_SIZE - 1;

/** Tag bits of an entry (dmirror's xarray tags; mlx5's MTT access bits). */
const TAG_WRITE = 1;
const TAG_ATOMIC = 2;

/**
 * One leaf: 512 entries in columns, and the bitmap of the present ones. The IOVA column exists only
 * for a device behind an IOMMU, the file-page columns only once a file page is installed in the
 * leaf: an anonymous mapping costs 9 bytes an entry.
 */
class Leaf {
  readonly present = new Uint32Array(LEAF_SIZE / 32);
  readonly pfn = new Int32Array(LEAF_SIZE);
  readonly gen = new Uint32Array(LEAF_SIZE);
  readonly tags = new Uint8Array(LEAF_SIZE);
  iova: Int32Array | null = null;
  /** The inode id of the file page the pfn was obtained for, 0 for none. */
  ino: Int32Array | null = null;
  index: Float64Array | null = null;
  count = 0;

  has(j: number): boolean {
    return ((this.present[j >>> 5] as number) & (1 << (j & 31))) !== 0;
  }

  /**
   * clean() - no entry present, for a table that takes it from the spare leaves. What its columns
   * still hold is never read: every read of an entry's column is of a present entry, which the
   * install that made it present wrote (a column made for an earlier use, an IOVA or a file page,
   * is written for every entry installed, as when it is first made).
   */
  clean(): this {
    this.present.fill(0);
    this.count = 0;
    return this;
  }
}

/**
 * Leaves that an erase emptied, for any table to take instead of making its columns again (the
 * next execution of a reused machine makes its MRs' and mirrors' tables anew).
 */
const spareLeaves: Leaf[] = [];
const SPARE_LEAVES_MAX = 256;

function spareLeaf(leaf: Leaf): void {
  if (spareLeaves.length < SPARE_LEAVES_MAX) spareLeaves.push(leaf);
}

/**
 * MapBatch - the translations a driver installs under one hold of its lock, in increasing page
 * order, traced as one `dev_map` per run of one leaf and one file (pinsim-only). The table holds
 * each entry from insert() on; end() traces what is left of the run.
 */
export class MapBatch {
  private readonly table: TranslationTable;
  private readonly snapSeq: number;
  private readonly vpns: number[] = [];
  private readonly pfns: number[] = [];
  private readonly gens: number[] = [];
  private readonly indices: number[] = [];
  private readonly writes: number[] = [];
  private file = '';

  constructor(table: TranslationTable, snapSeq: number) {
    this.table = table;
    this.snapSeq = snapSeq;
  }

  /** insert() - install page @vpn → @pfn (see TranslationTable.insert()), traced with the batch. */
  insert(vpn: number, pfn: number, write: boolean, gen?: number, atomic = false): void {
    const x = this.table.install(vpn, pfn, write, gen, atomic);
    const n = this.vpns.length;
    const last = n ? (this.vpns[n - 1] as number) : -1;
    if (n && (vpn <= last || Math.floor(vpn / LEAF_SIZE) !== Math.floor(last / LEAF_SIZE) || x.file !== this.file)) this.flush();
    if (!this.vpns.length) this.file = x.file;
    this.vpns.push(vpn);
    this.pfns.push(pfn);
    this.gens.push(x.gen);
    this.indices.push(x.index);
    this.writes.push(write ? 1 : 0);
  }

  /** end() - trace the run gathered so far; the batch may be used again. */
  end(): void {
    this.flush();
  }

  private flush(): void {
    const n = this.vpns.length;
    if (!n) return;
    const first = this.vpns[0] as number;
    const len = (this.vpns[n - 1] as number) - first + 1;
    const cols = new PageArrays(len, 1, 2, 1);
    const indices = cols.f64(-1), pfns = cols.i32(-1), gens = cols.u32(), write = cols.u8();
    for (let i = 0; i < n; i++) {
      const j = (this.vpns[i] as number) - first;
      pfns[j] = this.pfns[i] as number;
      gens[j] = this.gens[i] as number;
      indices[j] = this.indices[i] as number;
      write[j] = this.writes[i] as number;
    }
    this.table.traceMap(first, this.file, pfns, gens, indices, write, this.snapSeq);
    this.vpns.length = this.pfns.length = this.gens.length = this.indices.length = this.writes.length = 0;
  }
}

/** An entry as a device reads it: the translation and its tags. */
export interface TableEntry extends Translation {
  write: boolean;
  /** Mapped for device atomics (dmirror's ATOMIC tag; a device-exclusive CPU entry backs it). */
  atomic: boolean;
}

export interface TableOptions {
  /** Emit `dev_map`/`dev_unmap` (the models that the notifier checkers follow); default true. */
  traced?: boolean;
  /**
   * The interval subscription that guards the table (an ODP umem's, dmirror's): its entries are
   * traced as that subscription's, so a checker books them per subscription, not per device.
   */
  sub?: { readonly id: number };
  /** Keep a reverse map pfn → page indexes, for walkPfn(); default false. */
  rmap?: boolean;
}

export class TranslationTable {
  private readonly ctx: TranslationCtx;
  /** The address space the entries translate (its owner's name, as traces spell it). */
  readonly mm: string;
  private readonly traced: boolean;
  private readonly leaves = new Map<number, Leaf>();
  private readonly rmap: Map<number, number[]> | null;
  private readonly sub: { readonly id: number } | null;
  /** Present entries. */
  count = 0;
  /** Entries handed out by walk() and walkPfn() so far (pinsim-only: what tests measure). */
  visited = 0;
  /**
   * The digest of the present entries as a set, kept at every write from the first fingerprint()
   * on (null until then: a run without fingerprints pays a test per write).
   */
  private kept: SetDigest | null = null;

  constructor(ctx: TranslationCtx, mm: string, opts: TableOptions = {}) {
    this.ctx = ctx;
    this.mm = mm;
    this.traced = opts.traced ?? true;
    this.rmap = opts.rmap ? new Map() : null;
    this.sub = opts.sub ?? null;
  }

  /** The id of the subscription that guards the table, once it is inserted; else null. */
  private subscription(): number | null {
    return this.sub && this.sub.id ? this.sub.id : null;
  }

  /** lookup() - the entry at page index @vpn, or null. */
  lookup(vpn: number): TableEntry | null {
    const leaf = this.leaves.get(Math.floor(vpn / LEAF_SIZE));
    const j = vpn & LEAF_MASK;
    if (!leaf || !leaf.has(j)) return null;
    const ino = leaf.ino ? (leaf.ino[j] as number) : 0;
    const tags = leaf.tags[j] as number;
    return {
      pfn: leaf.pfn[j] as number, iova: leaf.iova ? (leaf.iova[j] as number) : -1, gen: leaf.gen[j] as number,
      file: ino > 0 ? (this.ctx.k.inodeById[ino]?.name ?? '') : '', index: ino > 0 && leaf.index ? (leaf.index[j] as number) : -1,
      mm: this.mm, va: vpn * PAGE_SIZE, write: (tags & TAG_WRITE) !== 0, atomic: (tags & TAG_ATOMIC) !== 0,
    };
  }

  /**
   * insert() - install a translation of page @vpn to @pfn: DMA-map it and, in a traced table, trace
   * `dev_map` of that one page with @snapSeq (the trace position of the page-table walk it came
   * from). @gen: the frame generation the pfn was obtained in (a walk's, older than now), else the
   * current. Many pages under one lock hold go through a MapBatch (beginMap()) instead.
   * Context: the slot must be empty (erase() first); the caller holds its driver's table lock.
   */
  insert(vpn: number, pfn: number, write: boolean, snapSeq: number, gen?: number, atomic = false): void {
    const x = this.install(vpn, pfn, write, gen, atomic);
    if (this.traced) {
      trace_dev_map(this.ctx, this.mm, vpn, x.file, Int32Array.of(pfn), Uint32Array.of(x.gen), Float64Array.of(x.index), Uint8Array.of(write ? 1 : 0), snapSeq, false, this.subscription());
    }
  }

  /** beginMap() - a batch of installs under one hold of the driver's lock, from a walk at @snapSeq. */
  beginMap(snapSeq: number): MapBatch {
    return new MapBatch(this, snapSeq);
  }

  /** install() - (for MapBatch) insert() without its trace. Return: the translation made. */
  install(vpn: number, pfn: number, write: boolean, gen?: number, atomic = false): Translation {
    const key = Math.floor(vpn / LEAF_SIZE), j = vpn & LEAF_MASK;
    let leaf = this.leaves.get(key);
    if (!leaf) this.leaves.set(key, (leaf = spareLeaves.pop()?.clean() ?? new Leaf()));
    if (leaf.has(j)) PINSIM_BUG(`${this.ctx.name}: insert over the present entry of ${this.mm} va 0x${(vpn * PAGE_SIZE).toString(16)}`);
    const x = dma_map_translation(this.ctx, pfn, this.mm, vpn * PAGE_SIZE, gen);
    const mapping = this.ctx.k.mem.mappingOf(pfn);
    leaf.pfn[j] = pfn;
    leaf.gen[j] = x.gen;
    if (x.iova >= 0) (leaf.iova ??= new Int32Array(LEAF_SIZE).fill(-1))[j] = x.iova;
    else if (leaf.iova) leaf.iova[j] = -1;
    if (mapping > 0) {
      (leaf.ino ??= new Int32Array(LEAF_SIZE))[j] = mapping;
      (leaf.index ??= new Float64Array(LEAF_SIZE).fill(-1))[j] = x.index;
    } else if (leaf.ino) leaf.ino[j] = 0;
    leaf.tags[j] = (write ? TAG_WRITE : 0) | (atomic ? TAG_ATOMIC : 0);
    leaf.present[j >>> 5] = ((leaf.present[j >>> 5] as number) | (1 << (j & 31))) >>> 0;
    this.kept?.toggle(entryHash(leaf, vpn, j));
    leaf.count++;
    this.count++;
    if (this.rmap) {
      const l = this.rmap.get(pfn);
      if (l) l.push(vpn);
      else this.rmap.set(pfn, [vpn]);
    }
    return x;
  }

  /** traceMap() - (for MapBatch) trace installs of this table, if it is traced. */
  traceMap(first: number, file: string, pfns: Int32Array, gens: Uint32Array, indices: Float64Array, write: Uint8Array, snapSeq: number): void {
    if (this.traced) trace_dev_map(this.ctx, this.mm, first, file, pfns, gens, indices, write, snapSeq, false, this.subscription());
  }

  /** erase() - remove the entry at @vpn (DMA-unmap it, trace `dev_unmap` of that page). Return: false if none was there. */
  erase(vpn: number): boolean {
    const pfn = this.remove(vpn);
    if (pfn < 0) return false;
    if (this.traced) trace_dev_unmap(this.ctx, this.mm, vpn, Int32Array.of(pfn), this.subscription());
    return true;
  }

  /**
   * eraseRange() - remove every entry of [@first, @end) (@end may be Infinity), in page order,
   * handing each to @before first (its page, frame and WRITE access, while it is still there: a
   * driver dirtying what the device could write); traced as one `dev_unmap` per leaf it touched.
   * Visits only the present entries, leaf by leaf.
   * Context: the caller holds its driver's table lock. Return: how many entries went.
   */
  eraseRange(first: number, end: number, before?: (vpn: number, pfn: number, write: boolean) => void): number {
    if (end <= first || this.count === 0) return 0;
    let n = 0;
    const iommu = this.ctx.iommu;
    for (const key of leafKeysIn(this.leaves, Math.floor(first / LEAF_SIZE), Math.floor((end - 1) / LEAF_SIZE))) {
      const leaf = this.leaves.get(key) as Leaf;
      const base = key * LEAF_SIZE;
      const j0 = Math.max(first - base, 0), j1 = Math.min(end - 1 - base, LEAF_MASK);
      // The run spans the first to the last present entry of the range in this leaf.
      const lo = firstSetBit(leaf.present, j0, j1);
      if (lo < 0) continue;
      const hi = lastSetBit(leaf.present, j0, j1);
      const run = new Int32Array(hi - lo + 1).fill(-1);
      let gone = 0;
      const present = leaf.present;
      for (let w = lo >>> 5; w <= hi >>> 5; w++) {
        let bits = present[w] as number;
        while (bits) {
          const low = bits & -bits;
          bits = (bits ^ low) >>> 0;
          const j = w * 32 + (31 - Math.clz32(low));
          if (j < lo || j > hi) continue;
          const pfn = leaf.pfn[j] as number;
          if (before) before(base + j, pfn, ((leaf.tags[j] as number) & TAG_WRITE) !== 0);
          if (iommu && leaf.iova && (leaf.iova[j] as number) >= 0) iommu.dma_unmap_page(leaf.iova[j] as number);
          if (this.rmap) this.unlinkRmap(pfn, base + j);
          this.kept?.toggle(entryHash(leaf, base + j, j));
          run[j - lo] = pfn;
          gone++;
        }
        // Every bit of [lo, hi] in this word goes; the others stay.
        present[w] = ((present[w] as number) & ~rangeMask(w, lo, hi)) >>> 0;
      }
      leaf.count -= gone;
      this.count -= gone;
      this.visited += gone;
      n += gone;
      if (leaf.count === 0) {
        this.leaves.delete(key);
        spareLeaf(leaf);
      }
      if (this.traced) trace_dev_unmap(this.ctx, this.mm, base + lo, run, this.subscription());
    }
    return n;
  }

  /** unlinkRmap() - forget that page @vpn translates to @pfn in the reverse map. */
  private unlinkRmap(pfn: number, vpn: number): void {
    const l = this.rmap?.get(pfn);
    if (!l) return;
    l.splice(l.indexOf(vpn), 1);
    if (!l.length) this.rmap?.delete(pfn);
  }

  /** remove() - take the entry at @vpn out (DMA-unmapped, untraced). Return: its pfn, or -1 if none. */
  private remove(vpn: number): number {
    const key = Math.floor(vpn / LEAF_SIZE), j = vpn & LEAF_MASK;
    const leaf = this.leaves.get(key);
    if (!leaf || !leaf.has(j)) return -1;
    const pfn = leaf.pfn[j] as number;
    const iova = leaf.iova ? (leaf.iova[j] as number) : -1;
    if (this.ctx.iommu && iova >= 0) this.ctx.iommu.dma_unmap_page(iova);
    this.kept?.toggle(entryHash(leaf, vpn, j));
    leaf.present[j >>> 5] = ((leaf.present[j >>> 5] as number) & ~(1 << (j & 31))) >>> 0;
    if (--leaf.count === 0) {
      this.leaves.delete(key);
      spareLeaf(leaf);
    }
    this.count--;
    if (this.rmap) this.unlinkRmap(pfn, vpn);
    return pfn;
  }

  /** setWrite() - change the WRITE tag of the present entry at @vpn (no new translation, no trace). */
  setWrite(vpn: number, write: boolean): void {
    const leaf = this.leaves.get(Math.floor(vpn / LEAF_SIZE));
    const j = vpn & LEAF_MASK;
    if (!leaf || !leaf.has(j)) PINSIM_BUG(`${this.ctx.name}: setWrite on an empty entry`);
    this.kept?.toggle(entryHash(leaf, vpn, j));
    leaf.tags[j] = write ? (leaf.tags[j] as number) | TAG_WRITE : (leaf.tags[j] as number) & ~TAG_WRITE;
    this.kept?.toggle(entryHash(leaf, vpn, j));
  }

  /**
   * walk() - hand @fn the page index of every present entry in [@first, @end), in increasing order,
   * visiting nothing outside the range (@end may be Infinity). @fn may erase the entry it is given.
   */
  walk(first: number, end: number, fn: (vpn: number) => void): void {
    if (end <= first || this.count === 0) return;
    for (const key of leafKeysIn(this.leaves, Math.floor(first / LEAF_SIZE), Math.floor((end - 1) / LEAF_SIZE))) {
      const leaf = this.leaves.get(key) as Leaf;
      const base = key * LEAF_SIZE;
      forEachSetBit(leaf.present, Math.max(first - base, 0), Math.min(end - 1 - base, LEAF_MASK), (j) => {
        this.visited++;
        fn(base + j);
      });
    }
  }

  /** anyIn() - is some entry of [@first, @end) present? (Visits nothing but the range's leaves.) */
  anyIn(first: number, end: number): boolean {
    if (end <= first || this.count === 0) return false;
    for (const key of leafKeysIn(this.leaves, Math.floor(first / LEAF_SIZE), Math.floor((end - 1) / LEAF_SIZE))) {
      const base = key * LEAF_SIZE;
      if (anySetBit((this.leaves.get(key) as Leaf).present, Math.max(first - base, 0), Math.min(end - 1 - base, LEAF_MASK))) return true;
    }
    return false;
  }

  /** walkPfn() - hand @fn the page index of every entry translating to @pfn, in increasing order (needs rmap). */
  walkPfn(pfn: number, fn: (vpn: number) => void): void {
    if (!this.rmap) PINSIM_BUG(`${this.ctx.name}: walkPfn on a table without a reverse map`);
    const vpns = [...(this.rmap.get(pfn) ?? [])].sort((a, b) => a - b);
    for (const vpn of vpns) {
      this.visited++;
      fn(vpn);
    }
  }

  /**
   * fingerprint() - add the set of entries (page index, pfn, generation, WRITE) to @h: the digest kept
   * at every write, or with @fromScratch the same digest computed again from every entry (the
   * reference the kept one must equal).
   */
  fingerprint(h: Hasher, fromScratch = false): void {
    (fromScratch ? this.digestFromScratch() : (this.kept ??= this.digestFromScratch())).addTo(h);
  }

  private digestFromScratch(): SetDigest {
    const d = new SetDigest();
    for (const [key, leaf] of this.leaves) {
      for (let j = 0; j < LEAF_SIZE; j++) if (leaf.has(j)) d.toggle(entryHash(leaf, key * LEAF_SIZE + j, j));
    }
    return d;
  }

}

const entryScratch = new Hasher();
/** The hash of the entry at slot @j of @leaf (page index @vpn): its page index, pfn, generation and WRITE tag. */
function entryHash(leaf: Leaf, vpn: number, j: number): Hasher {
  return entryScratch.reset().add(vpn).add(leaf.pfn[j] as number).add(leaf.gen[j] as number).add((leaf.tags[j] as number) & TAG_WRITE ? 1 : 0);
}
