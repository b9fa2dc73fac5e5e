/**
 * The kernel model's trace events: the vocabulary invariant checkers and reports read. Every field
 * is a primitive (numbers, strings, booleans) or, in a range event, a typed array of per-page
 * values, so that `traceHash` covers it; the one bookkeeping field a checker needs in hand, the
 * subscription (`sub`, see withBook()), rides outside the hash. `file` is the file's scenario name
 * ('' for none), `index` its page index (-1 for none), `mm` the owning process's name. Every event
 * that changes a frame's reference count says by how much (`refs`) and what the count became
 * (`refcount`), so a checker can keep exact books of its own.
 *
 * Range events. What the kernel does to many pages without a preemption point between them is one
 * event with the range, not one event per page: a zap of one PTE table under its lock (`pte_clear`),
 * one batch of frees (`folio_free`), one truncate folio batch (`filemap_remove`), one run of a device
 * table updated under its driver's lock (`dev_map`, `dev_unmap`). Their per-page values are typed
 * arrays, page-aligned where the event names a VA range (`pfns[i]` is the page at
 * `start + i * PAGE_SIZE`, -1 where that page was not touched). A page of a range event, as a
 * checker's causal chain tells it, is an MmPageFact: the event it was before ranges existed.
 *
 * Large folios. An event about one folio names its head and, when it is large, its pages (`nr`);
 * a range event over frames lists folios by their heads, with their pages (`nrs`) when one is
 * large; a range event over a VA range lists every page, so a huge entry's pages are its `nr`
 * consecutive frames. A page of a large folio is, for a causal chain, the folio's event (its
 * head, its `nr`).
 */
import type { TraceEventBase } from '../engine/trace.js';

type Ev<T extends string, F> = { type: T; time: number; actor: string } & F;

/**
 * A large folio in an event: `nr` base pages from `pfn` (and, for a page range, from `va` or
 * `index`) are concerned alike. Absent for a 4 KiB folio, so an order-0 trace (and its hash) is
 * what it always was.
 */
type Range = { nr?: number };
/**
 * A page of a large folio mapped or unmapped by its own PTE: `head` is its folio's head, which holds
 * the reference. The huge zero page's PMD: `zero` entries from `va`, each mapping the zero page.
 */
type Pte = { head?: number; zero?: number };

/**
 * Large folios in a range event over frames: nrs[i] is the number of pages of the folio headed by
 * pfns[i]. Absent when every folio of the event is 4 KiB, so an order-0 trace (and its hash) is
 * what it always was.
 */
type Folios = { nrs?: Int32Array };

export type MmTraceEvent =
  /** A frame left the free list (generation `gen`); no holder yet. */
  | Ev<'folio_alloc', { pfn: number; gen: number; owner: string; file: string; index: number } & Range>
  /**
   * Folios whose refcount reached 0 were freed, in this order: one batch the kernel frees together
   * (a folio_batch release, up to 512 folios of an mmu_gather), or one folio. pfns[i] is a folio's
   * head; `nrs` (present when one of them is large) its pages: a huge page went back to its pool.
   */
  | Ev<'folio_free', { pfns: Int32Array } & Folios>
  | Ev<'filemap_add', { file: string; index: number; pfn: number; gen: number; refcount: number } & Range>
  /**
   * Folios left @file's page cache together (one truncate folio batch, or one folio): `reason`
   * truncate | punch_hole | reclaim | invalidate | migrate; per folio its (first) index, its head
   * pfn, and the refcount (after the cache's reference went) and pincount it was left with.
   */
  | Ev<'filemap_remove', { file: string; reason: string; indices: Float64Array; pfns: Int32Array; refcounts: Int32Array; pincounts: Int32Array } & Folios>
  /** A PTE was set (a huge page's PMD or PUD entry: `nr` pages from `va` map `nr` frames from `pfn`). */
  | Ev<'pte_set', { mm: string; va: number; pfn: number; write: boolean; refcount: number } & Range & Pte>
  /**
   * PTEs of [start, end) of one page table were cleared under its lock (pfns[i] at start + i pages,
   * -1 where none was); their references are dropped when the mmu_gather batch is flushed. With
   * `nr`, one huge entry (PMD or PUD) of `nr` pages was cleared: pfns lists each page it mapped,
   * and the entry held one reference on the folio.
   */
  | Ev<'pte_clear', { mm: string; start: number; end: number; pfns: Int32Array; dirty: Uint8Array } & Range>
  /**
   * split_huge_pmd(): the PMD at `va` mapping the THP headed by `pfn` (0: the huge zero page) became
   * 512 PTEs mapping the same pages; the folio took `refs` more references (one per PTE, less the PMD's).
   */
  | Ev<'thp_split_pmd', { mm: string; va: number; pfn: number; refs: number; write: boolean }>
  /**
   * split_folio() made the page `pfn` of the large folio headed by `head` a folio of its own with
   * `refs` references: its PTEs' `moved` from the head, and the page cache's own (one per folio, so
   * one more per page the split makes). One event per page but the head.
   */
  | Ev<'folio_split', { pfn: number; head: number; refs: number; moved: number }>
  /**
   * Truncate or punch-hole covered part of the large page-cache folio headed by `pfn` (`nr` pages
   * from `index`): it zeroed that part and tried to split the folio; `outcome` split | kept (dirty,
   * or tmpfs) | removed (clean: removed whole, its other pages orphaned too).
   */
  | Ev<'folio_truncate_partial', { file: string; index: number; pfn: number; nr: number; outcome: string; refcount: number; pincount: number }>
  /** No aligned block of 512 free frames for a THP fault at `va`: 4 KiB pages instead. */
  | Ev<'thp_fault_fallback', { mm: string; va: number }>
  /** do_huge_pmd_wp_page() (≤ 5.7) copied the whole THP headed by `pfn` at `va` into the new THP `new`. */
  | Ev<'thp_cow_copy', { mm: string; va: number; pfn: number; new: number }>
  /** khugepaged or MADV_COLLAPSE (`by`) collapsed the `pages` pages at `va` into the THP headed by `pfn`. */
  | Ev<'thp_collapse', { mm: string; va: number; pfn: number; pages: number; by: string }>
  /** khugepaged or MADV_COLLAPSE (`by`) scanned the 2 MiB at `va`: `result` is the kernel's scan_result name. */
  | Ev<'thp_collapse_scan', { mm: string; va: number; result: string; by: string }>
  /** A DMA reference (FOLL_GET or FOLL_PIN) was taken on a page, for `holder`. */
  | Ev<'dma_ref_get', {
      ref: number; holder: string; api: string; mm: string; va: number; pfn: number; gen: number; file: string; index: number;
      flags: number; fnames: string; longterm: boolean; pin: boolean; refs: number; refcount: number; pincount: number;
      /** A large folio's pages: `nr` consecutive pages from `pfn` (and `va`), `refs` each, on the folio headed by `head`. */
      nr?: number; head?: number;
    }>
  | Ev<'dma_ref_put', {
      ref: number; holder: string; pfn: number; gen: number; dirty: boolean; pin: boolean; refs: number; refcount: number; pincount: number;
      nr?: number; head?: number;
    }>
  /** A device op was posted (`wr` names it) and will access `pages` pages over `ns`. */
  | Ev<'dma_start', { wr: string; op: string; device: string; length: number; pages: number; ns: number }>
  /** One page access of a DMA: the translation's pfn, the generation and file index it was obtained for. */
  | Ev<'dma_access', {
      wr: string; device: string; op: string; length: number; mm: string; va: number; pfn: number; gen: number; file: string; index: number;
      write: boolean; token: number; ok: boolean;
      /** What the CPU sees at (mm, va) at this instant: its PTE's frame (-1 none) and a load's token (-1 undefined). */
      cpuPfn: number; cpuToken: number;
    }>
  | Ev<'dma_complete', { wr: string; device: string; status: string }>
  /** A CPU load or store of one page through a PTE; `file`/`index` the shared file page it maps. */
  | Ev<'cpu_access', { mm: string; va: number; pfn: number; gen: number; file: string; index: number; write: boolean; token: number; shared: boolean }>
  | Ev<'fault', { mm: string; va: number; write: boolean; result: string }>
  /**
   * do_wp_page() copied an anonymous page mapped once (the pre-5.9 mapcount rule would have reused
   * it): `rule` is the era's (refcount: 5.9–5.18, anon_exclusive: 5.19+), `refcount` and `exclusive`
   * what it saw, `unshare` whether the fault was an unshare (the copy then stays read-only).
   */
  | Ev<'cow_copy', { mm: string; va: number; pfn: number; refcount: number; mapcount: number; exclusive: boolean; rule: string; unshare: boolean }>
  /**
   * GUP takes a fault for COW's sake before taking its reference on (mm, va), whose present frame is
   * `pfn` (-1 none): `reason` force_cow_break (5.8: FOLL_GET/FOLL_PIN of a COW mapping breaks COW),
   * unshare_anon (5.19: R/O FOLL_PIN of a non-exclusive anonymous page) or unshare_longterm_cow
   * (6.2: R/O FOLL_LONGTERM pin of a page-cache or zero page in a COW mapping).
   */
  | Ev<'gup_cow', { holder: string; mm: string; va: number; pfn: number; fnames: string; reason: string }>
  | Ev<'notifier_start', { id: number; mm: string; start: number; end: number; event: string; blockable: boolean }>
  | Ev<'notifier_end', { id: number; mm: string }>
  /** A refused non-blockable start: the range is skipped and no _end may follow. */
  | Ev<'notifier_abort', { id: number; mm: string }>
  /** One subscriber's invalidate (interval) or invalidate_range_start (classic) returned. */
  | Ev<'notifier_sub_done', {
      id: number; holder: string; mm: string; start: number; end: number; ok: boolean; blockable: boolean; event: string;
      /** the range's owner (MIGRATE/EXCLUSIVE: the device doing it), '' for none */
      owner: string;
      /** a classic subscriber (struct mmu_notifier, whose _end is called per subscriber); absent for an interval one */
      classic?: true;
    } & SubscriptionBook>
  /** A classic subscriber's invalidate_range_end was called for range `id`. */
  | Ev<'notifier_sub_end', { id: number; holder: string; mm: string }>
  /** A callback slept inside a non-blockable range (non_block_start() would splat). */
  | Ev<'nonblock_slept', { holder: string; id: number; site: string }>
  | Ev<'interval_insert', { holder: string; mm: string; start: number; end: number }>
  | Ev<'interval_remove', { holder: string; mm: string; start: number; end: number }>
  /** mmu_interval_read_begin() found a writer active and sleeps. */
  | Ev<'read_begin_wait', { holder: string; mm: string; seq: number }>
  /** hmm_range_fault() (or a device's equivalent walk) read the CPU page tables of [start, end). */
  | Ev<'hmm_snapshot', { holder: string; mm: string; start: number; end: number; seq: number }>
  /**
   * A device installed translations of [start, end) under its driver's lock (pfns[i] for page
   * start + i, -1 where none), from a page-table walk that began when the trace held `snapSeq`
   * events (so a checker can order them exactly against invalidations); `file` and indices[i] the
   * file page each pfn was obtained for ('' and -1 for none), gens[i] its frame generation then.
   */
  | Ev<'dev_map', {
      device: string; mm: string; start: number; end: number; file: string; pfns: Int32Array; gens: Uint32Array;
      indices: Float64Array; write: Uint8Array; snapSeq: number; holdsRef: boolean;
    } & SubscriptionBook>
  /** A device dropped its translations of [start, end) under its driver's lock (pfns[i] the page's frame, -1 none). */
  | Ev<'dev_unmap', { device: string; mm: string; start: number; end: number; pfns: Int32Array } & SubscriptionBook>
  /** An in-flight device copy captured a translation it will use without re-checking. */
  | Ev<'dev_dma_hold', { device: string; wr: string; mm: string; va: number; pfn: number } & SubscriptionBook>
  | Ev<'dev_dma_release', { device: string; wr: string }>
  /** The device is dead (e.g. UMR recovery failed): it maps nothing and never DMAs again. */
  | Ev<'device_dead', { device: string; reason: string }>
  /** Migration moved a page's content and mappings from `old` to `new`. */
  | Ev<'folio_migrate', { old: number; new: number; mm: string; va: number } & Range>
  /** A policy revoked an MR: its QP is in error and its references dropped. */
  | Ev<'mr_revoked', { device: string; mr: string }>
  /** A policy redirected a device's translation of `pfn` to the dummy page. */
  | Ev<'dummy_redirect', { device: string; pfn: number; dummy: number; mm: string; va: number }>
  /** A lease was broken (its holder's onBreak starts). */
  | Ev<'lease_break', { file: string; holder: string; lease: string }>
  /** A truncate (or punch-hole) waits for the long-term references to a range to go. */
  | Ev<'truncate_wait', { file: string; policy: string; refs: number }>
  /** An op is still blocked when the run ends, waiting on `wq`. */
  | Ev<'op_blocked', { op: string; name: string; since: number; wq: string }>
  /** A device's DMA hit an IOVA its IOMMU no longer maps. */
  | Ev<'iommu_fault', { device: string; iova: number; pfn: number; wr: string }>
  /** Writeback made a folio's content durable. */
  | Ev<'storage_write', { file: string; index: number; pfn: number; token: number }>
  /** Writeback skipped a dirty folio and dropped its data (ext4 ≥ 5.18 without buffers). */
  | Ev<'writeback_skip', { file: string; index: number; pfn: number; token: number }>
  /** pwrite (or write) put new content in a file page. */
  | Ev<'file_write', { file: string; index: number; pfn: number; token: number }>
  /** DAX break-layouts found a busy page and sleeps until it is idle. */
  | Ev<'dax_busy_wait', { file: string; pfn: number; refcount: number }>
  | Ev<'folio_dirty', { pfn: number; file: string; index: number; buffers: boolean; via: string }>
  | Ev<'folio_buffers', { pfn: number; file: string; index: number; attached: boolean }>
  | Ev<'i_size', { file: string; old: number; size: number }>
  | Ev<'vma', { mm: string; start: number; end: number; what: string; file: string }>
  | Ev<'op_start', { op: string; name: string }>
  | Ev<'op_end', { op: string; name: string; result: string; blockedNs: number }>
  | Ev<'kernel_warn', { site: string; pfn: number; dump: string }>
  | Ev<'kernel_bug', { site: string; pfn: number; dump: string }>
  /** End of run: the live folios, up to 512 an event, each with its counts as the model has them (a large folio's: its head's). */
  | Ev<'frame_final', { pfns: Int32Array; gens: Uint32Array; refcounts: Int32Array; pincounts: Int32Array; mapcounts: Int32Array } & Folios>
  | Ev<'vmstat_final', { nr_foll_pin_acquired: number; nr_foll_pin_released: number }>
  /** The run ended; end-of-run checks happen here (skipped after a kernel BUG). */
  | Ev<'run_end', { crashed: boolean }>;

/**
 * (pinsim-only) Which notifier subscription an event belongs to: the interval subscription whose
 * callback returned (notifier_sub_done), or whose device table an entry or an in-flight copy is in
 * (dev_map, dev_unmap, dev_dma_hold). A checker books per subscription with it: one device may
 * hold several (two MRs over one page). Absent where there is none (a classic subscriber, a table
 * no notifier guards). Attached by withBook(): a bookkeeping field, not part of the event's data.
 */
export type SubscriptionBook = { readonly sub?: number };

/**
 * withBook() - @ev with its subscription @sub attached as a non-enumerable property: checkers read
 * `ev.sub`, while traceHash, the `--trace` outputs and chain records, which walk an event's
 * enumerable fields, do not see it. It adds nothing the trace does not already determine (which
 * subscription is which follows from the run), so attaching it changes no hash. @sub null: none.
 */
export function withBook<E extends MmTraceEvent>(ev: E, sub: number | null): E {
  if (sub !== null) Object.defineProperty(ev, 'sub', { value: sub, enumerable: false });
  return ev;
}

export type MmEventType = MmTraceEvent['type'];
export type MmEventOf<T extends MmEventType> = Extract<MmTraceEvent, { type: T }>;

/**
 * One page of a range event, as a causal chain tells it (pinsim-only): the fields of the event it
 * belongs to, for that page. `gen` of a freed or removed frame is its generation then.
 */
export type MmPageFact =
  | Ev<'pte_clear', { mm: string; va: number; pfn: number; dirty: boolean } & Range>
  | Ev<'folio_free', { pfn: number; gen: number } & Range>
  | Ev<'filemap_remove', { file: string; index: number; pfn: number; gen: number; refcount: number; pincount: number; reason: string } & Range>
  | Ev<'dev_map', {
      device: string; mm: string; va: number; pfn: number; gen: number; file: string; index: number; write: boolean;
      snapSeq: number; holdsRef: boolean;
    }>
  | Ev<'dev_unmap', { device: string; mm: string; va: number; pfn: number }>
  | Ev<'frame_final', { pfn: number; gen: number; refcount: number; pincount: number; mapcount: number } & Range>;

/** The types of the range events. */
export type RangeEventType = MmPageFact['type'];

/** What a causal chain's steps are: an event that is not a range event, or one page of a range event. */
export type MmChainEvent = Exclude<MmTraceEvent, { type: RangeEventType }> | MmPageFact;
export type MmChainEventOf<T extends MmChainEvent['type']> = Extract<MmChainEvent, { type: T }>;

/** What modelled assertions need: a place to emit, the time, who runs, and WARN_ONCE state. */
export interface MmTraceSink {
  emit(ev: MmTraceEvent): void;
  readonly now: number;
  actorName(): string;
  readonly warned: Set<string>;
}

// Compile-time check that every event fits the engine's base shape.
export type _CheckBase = MmTraceEvent extends TraceEventBase ? true : never;
