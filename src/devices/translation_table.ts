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
 * in a traced table, emits `dev_map`; erasing DMA-unmaps it and emits `dev_unmap`. A table with a
 * reverse map also finds the entries that translate to a given pfn (what a proposal acting on a
 * pinned page asks of an MR).
 */
import { PINSIM_BUG } from '../engine/bug.js';
import type { Hasher } from '../engine/hash.js';
import type { IommuDomain } from '../mm/iommu.js';
import type { Kernel } from '../mm/kernel.js';
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
 * trace_dev_map() - (pinsim-only) trace a translation the device installed, with @snapSeq, the
 * trace position of the page-table walk it came from (what install-during-invalidation orders).
 * Context: any. Return: nothing. Kernel: none (the trace stands for the device's MTT write).
 */
export function trace_dev_map(ctx: TranslationCtx, x: Translation, write: boolean, snapSeq: number, holdsRef: boolean, sub: number | null = null): void {
  const k = ctx.k;
  k.emit(withBook({
    type: 'dev_map', time: k.now, actor: ctx.name, device: ctx.name, mm: x.mm, va: x.va, pfn: x.pfn, gen: x.gen,
    file: x.file, index: x.index, write, snapSeq, holdsRef,
  }, sub));
}

/**
 * trace_dev_unmap() - (pinsim-only) trace a translation the device dropped.
 * Context: any. Return: nothing. Kernel: none (the trace stands for the device's MTT clear).
 */
export function trace_dev_unmap(ctx: TranslationCtx, x: Translation, sub: number | null = null): void {
  ctx.k.emit(withBook({ type: 'dev_unmap', time: ctx.k.now, actor: ctx.name, device: ctx.name, mm: x.mm, va: x.va, pfn: x.pfn }, sub));
}

const LEAF_SHIFT = 9;
const LEAF_SIZE = 1 << LEAF_SHIFT;
const LEAF_MASK = LEAF_SIZE - 1;

/** Tag bits of an entry (dmirror's xarray tags; mlx5's MTT access bits). */
const TAG_WRITE = 1;
const TAG_ATOMIC = 2;

/** One leaf: 512 entries in columns, and the bitmap of the present ones. */
class Leaf {
  readonly present = new Uint32Array(LEAF_SIZE / 32);
  readonly pfn = new Int32Array(LEAF_SIZE);
  readonly iova = new Int32Array(LEAF_SIZE);
  readonly gen = new Uint32Array(LEAF_SIZE);
  /** The inode id of the file page the pfn was obtained for, 0 for none. */
  readonly ino = new Int32Array(LEAF_SIZE);
  readonly index = new Float64Array(LEAF_SIZE);
  readonly tags = new Uint8Array(LEAF_SIZE);
  count = 0;

  has(j: number): boolean {
    return ((this.present[j >>> 5] as number) & (1 << (j & 31))) !== 0;
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

/** The set bits of @word between bit @a and bit @b (inclusive), lowest first. */
function bitsIn(word: number, a: number, b: number): number {
  const lo = (0xffffffff << a) >>> 0;
  const hi = b >= 31 ? 0xffffffff : ((1 << (b + 1)) >>> 0) - 1;
  return (word & lo & hi) >>> 0;
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
    const ino = leaf.ino[j] as number;
    const tags = leaf.tags[j] as number;
    return {
      pfn: leaf.pfn[j] as number, iova: leaf.iova[j] as number, gen: leaf.gen[j] as number,
      file: ino > 0 ? (this.ctx.k.inodeById[ino]?.name ?? '') : '', index: ino > 0 ? (leaf.index[j] as number) : -1,
      mm: this.mm, va: vpn * PAGE_SIZE, write: (tags & TAG_WRITE) !== 0, atomic: (tags & TAG_ATOMIC) !== 0,
    };
  }

  /**
   * insert() - install a translation of page @vpn to @pfn: DMA-map it and, in a traced table, trace
   * `dev_map` with @snapSeq (the trace position of the page-table walk it came from).
   * @gen: the frame generation the pfn was obtained in (a walk's, older than now), else the current.
   * Context: the slot must be empty (erase() first); the caller holds its driver's table lock.
   */
  insert(vpn: number, pfn: number, write: boolean, snapSeq: number, gen?: number, atomic = false): void {
    const key = Math.floor(vpn / LEAF_SIZE), j = vpn & LEAF_MASK;
    let leaf = this.leaves.get(key);
    if (!leaf) this.leaves.set(key, (leaf = new Leaf()));
    if (leaf.has(j)) PINSIM_BUG(`${this.ctx.name}: insert over the present entry of ${this.mm} va 0x${(vpn * PAGE_SIZE).toString(16)}`);
    const x = dma_map_translation(this.ctx, pfn, this.mm, vpn * PAGE_SIZE, gen);
    const mapping = this.ctx.k.mem.mappingOf(pfn);
    leaf.pfn[j] = pfn;
    leaf.iova[j] = x.iova;
    leaf.gen[j] = x.gen;
    leaf.ino[j] = mapping > 0 ? mapping : 0;
    leaf.index[j] = x.index;
    leaf.tags[j] = (write ? TAG_WRITE : 0) | (atomic ? TAG_ATOMIC : 0);
    leaf.present[j >>> 5] = ((leaf.present[j >>> 5] as number) | (1 << (j & 31))) >>> 0;
    leaf.count++;
    this.count++;
    if (this.rmap) {
      const l = this.rmap.get(pfn);
      if (l) l.push(vpn);
      else this.rmap.set(pfn, [vpn]);
    }
    if (this.traced) trace_dev_map(this.ctx, x, write, snapSeq, false, this.subscription());
  }

  /** erase() - remove the entry at @vpn (DMA-unmap it, trace `dev_unmap`). Return: false if none was there. */
  erase(vpn: number): boolean {
    const x = this.lookup(vpn);
    if (!x) return false;
    const key = Math.floor(vpn / LEAF_SIZE), j = vpn & LEAF_MASK;
    const leaf = this.leaves.get(key) as Leaf;
    dma_unmap_translation(this.ctx, x);
    leaf.present[j >>> 5] = ((leaf.present[j >>> 5] as number) & ~(1 << (j & 31))) >>> 0;
    if (--leaf.count === 0) this.leaves.delete(key);
    this.count--;
    if (this.rmap) {
      const l = this.rmap.get(x.pfn) as number[];
      l.splice(l.indexOf(vpn), 1);
      if (!l.length) this.rmap.delete(x.pfn);
    }
    if (this.traced) trace_dev_unmap(this.ctx, x, this.subscription());
    return true;
  }

  /** setWrite() - change the WRITE tag of the present entry at @vpn (no new translation, no trace). */
  setWrite(vpn: number, write: boolean): void {
    const leaf = this.leaves.get(Math.floor(vpn / LEAF_SIZE));
    const j = vpn & LEAF_MASK;
    if (!leaf || !leaf.has(j)) PINSIM_BUG(`${this.ctx.name}: setWrite on an empty entry`);
    leaf.tags[j] = write ? (leaf.tags[j] as number) | TAG_WRITE : (leaf.tags[j] as number) & ~TAG_WRITE;
  }

  /**
   * walk() - hand @fn the page index of every present entry in [@first, @end), in increasing order,
   * visiting nothing outside the range (@end may be Infinity). @fn may erase the entry it is given.
   */
  walk(first: number, end: number, fn: (vpn: number) => void): void {
    if (end <= first || this.count === 0) return;
    const k0 = Math.floor(first / LEAF_SIZE), k1 = Math.floor((end - 1) / LEAF_SIZE);
    // Sparse ranges (an invalidation of the whole address space) walk the leaves that exist.
    const keys = k1 - k0 + 1 > this.leaves.size
      ? [...this.leaves.keys()].filter((k) => k >= k0 && k <= k1).sort((a, b) => a - b)
      : Array.from({ length: k1 - k0 + 1 }, (_, i) => k0 + i);
    for (const key of keys) {
      const leaf = this.leaves.get(key);
      if (!leaf) continue;
      const base = key * LEAF_SIZE;
      const j0 = Math.max(first - base, 0), j1 = Math.min(end - 1 - base, LEAF_MASK);
      for (let w = j0 >>> 5; w <= j1 >>> 5; w++) {
        let bits = bitsIn(leaf.present[w] as number, w === j0 >>> 5 ? j0 & 31 : 0, w === j1 >>> 5 ? j1 & 31 : 31);
        while (bits) {
          const low = bits & -bits;
          bits = (bits ^ low) >>> 0;
          this.visited++;
          fn(base + w * 32 + (31 - Math.clz32(low)));
        }
      }
    }
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

  /** fingerprint() - add every entry (page index, pfn, generation, WRITE) to @h, in page order. */
  fingerprint(h: Hasher): void {
    for (const key of [...this.leaves.keys()].sort((a, b) => a - b)) {
      const leaf = this.leaves.get(key) as Leaf;
      for (let j = 0; j < LEAF_SIZE; j++) {
        if (!leaf.has(j)) continue;
        h.add(key * LEAF_SIZE + j).add(leaf.pfn[j] as number).add(leaf.gen[j] as number).add((leaf.tags[j] as number) & TAG_WRITE ? 1 : 0);
      }
    }
  }
}
