/**
 * (pinsim-only) The simulated machine's kernel state in one object: the frame table and allocator,
 * files, address spaces, the pin registry, the era's features and the policy's hooks, the clock
 * and the trace bus. Every kernel path receives it as `k`.
 */
import type { ThpMode } from './huge_memory.js';
import type { Scheduler } from '../engine/scheduler.js';
import type { TraceBus } from '../engine/trace.js';
import { DigestMap } from '../engine/hash.js';
import { WaitQueueHead, wake_up_all } from '../engine/waitqueue.js';
import type { KernelFeatures } from './features.js';
import { Inode, type FsType } from './fs/inode.js';
import { LeaseTable } from './fs/locks.js';
import { free_huge_folio, HPAGE_PMD_ORDER, HPAGE_PUD_ORDER, Hugetlb, hugetlb_hstate_alloc_pages } from './hugetlb.js';
import { DevPagemaps } from './memremap.js';
import { MovableZone } from './mmzone.js';
import { MAPPING_ANON, MemMap } from './mem_map.js';
import { MmStruct } from './mm_types.js';
import { BUG_ON } from './mmdebug.js';
import { PageAllocator } from './page_alloc.js';
import { PinRegistry } from './pin_registry.js';
import type { KernelPolicy } from './policy_ops.js';
import type { KernelTiming } from './timing.js';
import type { MmTraceEvent, MmTraceSink } from './trace_events.js';
import { PAGE_SIZE, PG_dax, PG_dummy, ZERO_PFN } from './types.js';

export interface KernelConfig {
  sched: Scheduler;
  bus: TraceBus<MmTraceEvent>;
  features: KernelFeatures;
  policy: KernelPolicy;
  timing: KernelTiming;
  /** bytes of RAM (a limit) */
  memory: number;
  /** bytes of it that are ZONE_MOVABLE (default none) */
  movable?: number;
  /** The hugetlb pool: pages of each order (9: 2 MiB, 18: 1 GiB), allocated at boot (default none). */
  hugepages?: ReadonlyMap<number, number>;
  /** The anonymous THP policy (default "madvise", as most distributions ship it). */
  thp?: ThpMode;
  /** Tunables a policy reads; each defaults as KERNEL_TUNABLES says. */
  tunables?: Partial<KernelTunables>;
  /**
   * fatal_signal_pending() for the running task, from whoever maps actors to processes (the
   * scenario runner); default: never.
   */
  fatal_signal_pending?: () => boolean;
  /**
   * (pinsim-only) Told of a folio's head whose reference count changed where no trace event says so
   * (a reference taken, or one dropped that does not free it): the incremental state fingerprint's
   * books. Default: nobody.
   */
  frameWritten?: (pfn: number) => void;
}

/** Tunables a policy reads. */
export interface KernelTunables {
  /** ns lease-break-dummy waits for long-term references to go after breaking a lease */
  readonly leaseBreakTimeout: number;
}

export const KERNEL_TUNABLES: KernelTunables = { leaseBreakTimeout: 10_000_000 };

/** A process: its mm and its RLIMIT_MEMLOCK (pinsim-only view of task_struct + signal_struct). */
export class Process {
  readonly name: string;
  readonly mm: MmStruct;
  /** RLIMIT_MEMLOCK in bytes (Infinity when not declared). */
  memlock: number;
  capIpcLock: boolean;
  alive = true;
  constructor(name: string, mm: MmStruct, memlock: number, capIpcLock: boolean) {
    this.name = name;
    this.mm = mm;
    this.memlock = memlock;
    this.capIpcLock = capIpcLock;
  }
}

export class Kernel implements MmTraceSink {
  readonly sched: Scheduler;
  readonly bus: TraceBus<MmTraceEvent>;
  readonly features: KernelFeatures;
  readonly policy: KernelPolicy;
  readonly timing: KernelTiming;
  readonly mem = new MemMap();
  readonly alloc: PageAllocator;
  readonly pins = new PinRegistry();
  readonly leases = new LeaseTable();
  /** The anonymous THP policy (/sys/kernel/mm/transparent_hugepage/enabled). */
  readonly thp: ThpMode;
  /** ZONE_MOVABLE (kernel.movable) and PF_MEMALLOC_PIN. */
  readonly movable: MovableZone;
  /** The hugetlb pool (kernel.hugepages): hstates and which folios are huge pages. */
  readonly hugetlb = new Hugetlb();
  /** The huge pages of each order the pool got at boot (fewer than asked when memory ran out). */
  readonly hugepages_allocated = new Map<number, number>();
  /** Device-private memory: the owners' migrate_to_ram, and the owner of each device page. */
  readonly pgmaps = new DevPagemaps();
  readonly inodes = new Map<string, Inode>();
  /** Inodes by id; ids start at 1, slot 0 is no inode (mapping 0 means none). */
  readonly inodeById: (Inode | null)[] = [null];
  readonly processes = new Map<string, Process>();
  readonly warned = new Set<string>();
  /**
   * kcompactd's books: the frames it migrated a page into (pfn → that frame's allocation
   * generation), i.e. pages it already put in place. See compact_zone().
   */
  readonly compacted = new DigestMap();
  readonly vmstat = { nr_foll_pin_acquired: 0, nr_foll_pin_released: 0 };
  /** Content token → the name of the write that made it (token 0 is "zero"). */
  readonly contents: string[] = ['zero'];
  nextRangeId = 1;
  /** The id the next interval subscription gets when it is inserted (0: not inserted yet). */
  nextSubscriptionId = 1;
  /** fatal_signal_pending() for the running task. Interruptible sleeps check it and return EINTR. */
  readonly fatal_signal_pending: () => boolean;
  private readonly frameWritten: ((pfn: number) => void) | null;
  readonly tunables: KernelTunables;
  /** The frames one folios_put_refs() freed, before they are traced together. */
  private readonly freedScratch: number[] = [];
  /** Their folios' pages, alongside, once one of them is large (empty while all are order 0). */
  private readonly freedNrScratch: number[] = [];
  /** The dummy ("crappy") page devices are redirected to, allocated on first use. */
  private dummyPfn = -1;
  /**
   * The pages MADV_FREE made lazily freeable, in the order it did, with the one mapping each had
   * (pinsim-only: the kernel finds them on the inactive LRU and their mappings through the rmap).
   */
  readonly lazyfree = new Map<number, { mm: MmStruct; va: number }>();
  /** Where DAX break-layouts sleeps until a busy page goes idle (woken on every DAX put). */
  readonly dax_wq = new WaitQueueHead('dax_layout_busy');
  private nextMmId = 1;
  /** The hugetlb pool kernel.hugepages asks for (boot and every reset() allocate it). */
  private readonly hugepagesAsked: ReadonlyMap<number, number> | undefined;
  /**
   * The inodes and processes of the execution before a reset(), taken again by create_inode() and
   * create_process() when the next one makes the same (not part of the machine's state).
   */
  private readonly spareInodes: (Inode | null)[] = [];
  private readonly spareProcesses = new Map<string, Process>();

  constructor(c: KernelConfig) {
    this.sched = c.sched;
    this.bus = c.bus;
    this.features = c.features;
    this.policy = c.policy;
    this.timing = c.timing;
    this.alloc = new PageAllocator(this.mem, Math.floor(c.memory / PAGE_SIZE));
    this.movable = new MovableZone(Math.floor((c.movable ?? 0) / PAGE_SIZE));
    this.tunables = { ...KERNEL_TUNABLES, ...c.tunables };
    this.thp = c.thp ?? 'madvise';
    this.fatal_signal_pending = c.fatal_signal_pending ?? (() => false);
    this.frameWritten = c.frameWritten ?? null;
    this.hugepagesAsked = c.hugepages;
    this.boot();
  }

  /** The hugetlb pool, allocated at boot. */
  private boot(): void {
    // Gigantic pages are allocated first, as the boot command line allocates them before the rest
    // of memory. (Both hstates exist without a pool too: size_to_hstate() makes them on demand.)
    for (const order of [HPAGE_PUD_ORDER, HPAGE_PMD_ORDER]) {
      const n = this.hugepagesAsked?.get(order);
      if (n !== undefined) this.hugepages_allocated.set(order, hugetlb_hstate_alloc_pages(this, order, n));
    }
  }

  /**
   * reset() - the kernel as its constructor left it, for the next execution of a reused machine:
   * every book emptied in place (the frame table, page tables and page caches keep their room),
   * the hugetlb pool allocated again (traced as at boot). Its configuration stays; the scheduler
   * and the trace bus are reset by their owner first. Inodes and processes are made again by
   * whoever made them (the scenario's setup, an op), reusing the objects of before. A map or set
   * is cleared only when it holds something, here and in every reset(): clear() allocates a new
   * table even when there is nothing to clear.
   */
  reset(): void {
    this.mem.reset();
    this.alloc.reset();
    this.pins.reset();
    this.leases.reset();
    this.movable.reset();
    this.hugetlb.reset();
    if (this.hugepages_allocated.size) this.hugepages_allocated.clear();
    this.pgmaps.reset();
    this.spareInodes.length = 0;
    for (const ino of this.inodeById) this.spareInodes.push(ino);
    if (this.inodes.size) this.inodes.clear();
    this.inodeById.length = 1;
    if (this.spareProcesses.size) this.spareProcesses.clear();
    for (const [name, p] of this.processes) this.spareProcesses.set(name, p);
    if (this.processes.size) this.processes.clear();
    if (this.warned.size) this.warned.clear();
    if (this.compacted.size) this.compacted.clear();
    this.vmstat.nr_foll_pin_acquired = this.vmstat.nr_foll_pin_released = 0;
    this.contents.length = 1;
    this.nextRangeId = 1;
    this.nextSubscriptionId = 1;
    this.freedScratch.length = 0;
    this.freedNrScratch.length = 0;
    this.dummyPfn = -1;
    if (this.lazyfree.size) this.lazyfree.clear();
    this.dax_wq.reset();
    this.nextMmId = 1;
    this.boot();
  }

  get now(): number {
    return this.sched.now;
  }

  actorName(): string {
    return this.sched.current?.name ?? 'kernel';
  }

  emit(ev: MmTraceEvent): void {
    this.bus.emit(ev);
  }

  /** A new content token for a write named @name (every write makes new content). */
  new_content(name: string): number {
    this.contents.push(name);
    return this.contents.length - 1;
  }

  create_inode(name: string, fs: FsType, dax: boolean, size: number, huge_order = 0): Inode {
    const id = this.inodeById.length;
    const old = this.spareInodes[id];
    let ino: Inode;
    if (old && old.name === name && old.fs === fs && old.dax === dax && old.huge_order === huge_order) {
      this.spareInodes[id] = null;
      old.reset(size);
      ino = old;
    } else ino = new Inode(id, name, fs, dax, size, huge_order);
    this.inodeById.push(ino);
    this.inodes.set(name, ino);
    return ino;
  }

  create_process(name: string, memlock = Infinity, capIpcLock = false): Process {
    const id = this.nextMmId++;
    const old = this.spareProcesses.get(name);
    let p: Process;
    if (old && old.mm.id === id) {
      this.spareProcesses.delete(name);
      old.mm.reset();
      old.memlock = memlock;
      old.capIpcLock = capIpcLock;
      old.alive = true;
      p = old;
    } else p = new Process(name, new MmStruct(id, name), memlock, capIpcLock);
    this.processes.set(name, p);
    return p;
  }

  /** dummy_page() - the one dummy page (PG_dummy, content "dummy"), never freed. Return: pfn or -1. */
  dummy_page(): number {
    if (this.dummyPfn >= 0) return this.dummyPfn;
    const pfn = this.alloc.alloc_page();
    if (pfn < 0) return -1;
    this.mem.flags[pfn] = PG_dummy;
    this.mem._refcount[pfn] = 1;
    this.mem.content[pfn] = this.new_content('dummy');
    this.emit({ type: 'folio_alloc', time: this.now, actor: this.actorName(), pfn, gen: this.mem.genOf(pfn), owner: 'dummy', file: '', index: -1 });
    this.dummyPfn = pfn;
    return pfn;
  }

  /** The file name and index a frame belongs to, for traces ('' / -1 when none). */
  owner_of(pfn: number): { file: string; index: number } {
    const m = this.mem.mappingOf(pfn);
    if (m > 0) return { file: (this.inodeById[m] as Inode).name, index: this.mem.indexOf(pfn) };
    return { file: '', index: -1 };
  }

  is_anon(pfn: number): boolean {
    return this.mem.mapping[pfn] === MAPPING_ANON;
  }

  /** folio_ref_add() - take @n references on the folio of @pfn (a tail page's go to its head). Pairs with folio_put_refs(). */
  folio_ref_add(pfn: number, n: number): void {
    if (pfn === ZERO_PFN) return;
    const head = this.mem.folio_head(pfn);
    this.mem._refcount[head] = this.mem.refcount(head) + n;
    this.frameWritten?.(head);
  }

  /**
   * folio_put_refs() - drop @n references on the folio of @pfn; at zero the folio is freed (one
   * `folio_free`; a huge page goes back to its pool).
   * Context: a refcount going negative is the kernel's VM_BUG_ON_FOLIO (refcount underflow).
   * Kernel: include/linux/mm.h folio_put_refs(), mm/swap.c __folio_put(), mm/hugetlb.c free_huge_folio().
   */
  folio_put_refs(pfn: number, n: number): void {
    const nr = this.put_testzero(pfn, n);
    if (nr === 1) this.trace_folio_free(Int32Array.of(pfn), null);
    else if (nr > 1) this.trace_folio_free(Int32Array.of(pfn - (pfn % nr)), Int32Array.of(nr));
  }

  /**
   * folios_put_refs() - drop @n references on the folio of each of @pfns[from, to), in order; the
   * folios that reach zero are freed together, traced as one `folio_free` of their heads in that
   * order (with each one's pages when one is large).
   * Context: the caller's batch (a folio_batch, an mmu_gather batch): no preemption point inside.
   * Kernel: mm/swap.c folios_put_refs(), release_pages().
   */
  folios_put_refs(pfns: ArrayLike<number>, from: number, to: number, n: number): void {
    const freed = this.freedScratch, nrs = this.freedNrScratch;
    let large = false;
    for (let i = from; i < to; i++) {
      const pfn = pfns[i] as number;
      const nr = this.put_testzero(pfn, n);
      if (nr === 0) continue;
      // The pages of each folio are kept from the first large one on (the ones before it had one).
      if (nr > 1 && !large) {
        large = true;
        for (let j = 0; j < freed.length; j++) nrs.push(1);
      }
      freed.push(nr === 1 ? pfn : pfn - (pfn % nr));
      if (large) nrs.push(nr);
    }
    if (freed.length) this.trace_folio_free(Int32Array.from(freed), large ? Int32Array.from(nrs) : null);
    freed.length = 0;
    nrs.length = 0;
  }

  /**
   * put_testzero() - (pinsim-only name) drop @n references on the folio of @pfn and, at zero, give
   * it back (untraced: the caller traces the frees): an order-0 frame to the allocator, a huge page
   * to its pool, another large folio to the allocator whole.
   * Return: the number of pages freed (the folio's), 0 when it lives on.
   * Kernel: include/linux/mm.h folio_put_testzero(), mm/swap.c __folio_put().
   */
  private put_testzero(pfn: number, n: number): number {
    if (pfn === ZERO_PFN) return 0;
    const m = this.mem;
    const order = m.folio_order(pfn);
    if (order) pfn = m.folio_head(pfn);
    const rc = m.refcount(pfn) - n;
    // The dump is made only when the BUG fires: this runs for every page a zap or truncate frees.
    if (rc < 0 || m.free[pfn] === 1) BUG_ON(this, true, 'include/linux/mm.h:folio_put_testzero', pfn, `page:pfn ${pfn} refcount:${m._refcount[pfn]} put ${n}`);
    m._refcount[pfn] = rc;
    this.frameWritten?.(pfn);
    if (rc <= 1 && m.flagsOf(pfn) & PG_dax) wake_up_all(this.dax_wq);
    if (rc !== 0) return 0;
    if (order) {
      const nr = 2 ** order;
      if (this.hugetlb.folios.has(pfn)) free_huge_folio(this, pfn);
      else {
        this.movable.remove(pfn, nr);
        this.alloc.free_pages(pfn, order);
      }
      return nr;
    }
    if (this.pgmaps.owner.size) this.pgmaps.owner.delete(pfn);
    if (this.movable.pfns.size) this.movable.pfns.delete(pfn);
    this.alloc.free_page(pfn);
    return 1;
  }

  /** trace_folio_free() - (pinsim-only) trace the folios @heads just freed, in that order; @nrs their pages when one is large. */
  private trace_folio_free(heads: Int32Array, nrs: Int32Array | null): void {
    if (nrs) this.emit({ type: 'folio_free', time: this.now, actor: this.actorName(), pfns: heads, nrs });
    else this.emit({ type: 'folio_free', time: this.now, actor: this.actorName(), pfns: heads });
  }
}
