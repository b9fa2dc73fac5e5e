/**
 * (pinsim-only) The pin registry: the exact record of who holds which DMA reference (FOLL_GET or
 * FOLL_PIN), in every era: the tracking `put_user_page()` proposed. The modelled kernel of an era
 * only sees what that era could see (refcounts, the pin bias); policies and causal chains read the
 * registry. Each long-term holder registers `PinOwnerOps`, through which proposals act on it.
 */
import type { Co } from '../engine/actor.js';
import { WaitQueueHead, wake_up_all } from '../engine/waitqueue.js';
import type { Inode } from './fs/inode.js';
import type { MmStruct } from './mm_types.js';

/** What a proposal may ask of a long-term DMA reference's holder (declared here, where mm calls it). */
export interface PinOwnerOps {
  /** Does the holder sit behind an IOMMU (iommu-backstop covers only those)? */
  readonly has_iommu: boolean;
  /** Forcibly terminate the holder's DMA (its QP to error) and drop its references. */
  revoke?(ref: DmaRef): Co;
  /** Point the holder's translation for @pfn at a dummy page, dropping its reference on @pfn. */
  redirect_to_dummy?(ref: DmaRef, pfn: number, dummy_pfn: number): Co;
  /** Break the pinning process's lease on @inode (its `onBreak` runs). Return: false if it holds none. */
  lease_break?(ref: DmaRef, inode: Inode): Co<boolean>;
  /** Unmap the holder's IOVA entries for @pfns so its later DMA to them faults at the IOMMU. */
  iommu_unmap?(ref: DmaRef, pfns: readonly number[]): Co;
}

export class DmaRef {
  readonly id: number;
  /** The device (or kernel GUP user) holding the reference. */
  readonly holder: string;
  readonly mm: MmStruct;
  /** FOLL_* flags as the era's kernel took them. */
  readonly gup_flags: number;
  readonly longterm: boolean;
  /** The user address of the first page. */
  readonly start: number;
  /** One entry per page: the pfn held (-1 once released or redirected). */
  readonly pfns: number[] = [];
  /** The refcount increment each page got (1 for FOLL_GET, the bias for FOLL_PIN). */
  readonly refs: number[] = [];
  /** What each page was when its reference was taken: generation, file and index ('' / -1 anon). */
  readonly obtained: { gen: number; file: string; index: number }[] = [];
  ops: PinOwnerOps | null = null;
  released = false;

  constructor(id: number, holder: string, mm: MmStruct, gup_flags: number, longterm: boolean, start: number) {
    this.id = id;
    this.holder = holder;
    this.mm = mm;
    this.gup_flags = gup_flags;
    this.longterm = longterm;
    this.start = start;
  }
}

export class PinRegistry {
  private nextId = 1;
  /** Woken whenever a reference is dropped (waiters re-check what they wait for). */
  readonly wq = new WaitQueueHead('pin_registry');
  readonly live = new Map<number, DmaRef>();
  private readonly byPfn = new Map<number, Set<DmaRef>>();

  /** reset() - no reference recorded, ids from 1 again, as new (a machine reused by the next execution). */
  reset(): void {
    this.nextId = 1;
    this.wq.reset();
    if (this.live.size) this.live.clear();
    if (this.byPfn.size) this.byPfn.clear();
  }

  create(holder: string, mm: MmStruct, gup_flags: number, longterm: boolean, start: number): DmaRef {
    const r = new DmaRef(this.nextId++, holder, mm, gup_flags, longterm, start);
    this.live.set(r.id, r);
    return r;
  }

  /** Record that @ref holds @pfn. */
  hold(ref: DmaRef, pfn: number, refs: number): void {
    ref.pfns.push(pfn);
    ref.refs.push(refs);
    let s = this.byPfn.get(pfn);
    if (!s) this.byPfn.set(pfn, (s = new Set()));
    s.add(ref);
  }

  /** Record that @ref's page @i no longer holds its pfn. */
  drop(ref: DmaRef, i: number): void {
    const pfn = ref.pfns[i] as number;
    ref.pfns[i] = -1;
    const s = this.byPfn.get(pfn);
    if (s && !ref.pfns.includes(pfn)) {
      s.delete(ref);
      if (!s.size) this.byPfn.delete(pfn);
    }
    if (ref.pfns.every((p) => p < 0)) {
      ref.released = true;
      this.live.delete(ref.id);
    }
    wake_up_all(this.wq);
  }

  /** The live references on @pfn, oldest first. */
  holders(pfn: number): DmaRef[] {
    const s = this.byPfn.get(pfn);
    return s ? [...s].sort((a, b) => a.id - b.id) : [];
  }

  /** The live long-term references holding any page in @pfns, oldest first. */
  longterm_refs(pfns: readonly number[]): DmaRef[] {
    const out = new Set<DmaRef>();
    for (const pfn of pfns) for (const r of this.byPfn.get(pfn) ?? []) if (r.longterm) out.add(r);
    return [...out].sort((a, b) => a.id - b.id);
  }

  /** Does any long-term reference hold @pfn? */
  longterm_held(pfn: number): boolean {
    const s = this.byPfn.get(pfn);
    if (!s) return false;
    for (const r of s) if (r.longterm) return true;
    return false;
  }
}
