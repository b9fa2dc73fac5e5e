/**
 * The kernel's periodic work and the end of a run. Background work, when `kernel` asks for it: the
 * flusher threads (writeback), kswapd (reclaim: strip clean buffers, free unreferenced clean file
 * folios) and kcompactd (compaction). Background actors never keep a run alive, but one inside a pass
 * when the scenario's actors have all finished ends that pass first (no kernel path is cut in half).
 */
import { delay, type Actor, type Co } from '../../engine/actor.js';
import { compact_zone } from '../../mm/compaction.js';
import { khugepaged_scan } from '../../mm/khugepaged.js';
import type { Kernel } from '../../mm/kernel.js';
import { PageArrays } from '../../mm/page_arrays.js';
import { write_cache_pages } from '../../mm/page-writeback.js';
import { reclaim_buffers, shrink_folio_list } from '../../mm/vmscan.js';
import type { KernelSpec } from '../format/types.js';

/** spawnBackground() - start the periodic kernel threads @kernel asks for. */
export function spawnBackground(k: Kernel, kernel: KernelSpec): void {
  const loop = (name: string, period: number, pass: (k: Kernel) => Co<unknown>) => {
    const holder: { actor: Actor | null } = { actor: null };
    holder.actor = k.sched.spawn(name, kthread(k, holder, period, `${name}:sleep`, pass), { background: true, at: 0 });
  };
  if (kernel.writeback) loop('kworker/flush', kernel.writeback.period, flush_pass);
  if (kernel.reclaim) loop('kswapd0', kernel.reclaim.period, kswapd_pass);
  if (kernel.compaction) loop('kcompactd0', kernel.compaction.period, compact_zone);
  if (kernel.khugepaged) loop('khugepaged', kernel.khugepaged.period, khugepaged_scan);
}

/**
 * (pinsim-only) A periodic kernel thread: every @period, a pass of @pass (none once the run is
 * draining); busy while inside one. A module-level generator, as every actor body that is made
 * per execution (a `function*` expression evaluated per execution costs far more: see
 * docs/engine-performance.md).
 */
function* kthread(k: Kernel, holder: { actor: Actor | null }, period: number, site: string, pass: (k: Kernel) => Co<unknown>): Co {
  for (;;) {
    yield* delay(period, site);
    if (k.sched.draining) return;
    if (holder.actor) holder.actor.busy = true;
    yield* pass(k);
    if (holder.actor) holder.actor.busy = false;
  }
}

/** The flusher threads' pass: write back every file's dirty pages. */
function* flush_pass(k: Kernel): Co {
  for (const f of [...k.inodes.values()]) yield* write_cache_pages(k, f, 0, Infinity);
}

/** kswapd's pass: strip clean buffers, then free unreferenced clean file folios. */
function* kswapd_pass(k: Kernel): Co {
  yield* reclaim_buffers(k);
  yield* shrink_folio_list(k, 32);
}

/** FRAME_FINAL_BATCH - live folios a `frame_final` event reports. */
const FRAME_FINAL_BATCH = 512;

/**
 * finalEvents() - the end-of-run events: every live folio's counts (one walk of the frame table, up
 * to FRAME_FINAL_BATCH folios an event; a large folio's counts are its head's, with its pages in
 * `nrs`), the pin counters, then run_end.
 */
export function finalEvents(k: Kernel): void {
  const m = k.mem;
  const live: number[] = [];
  /** The pages of each live folio, alongside, once one of the batch is large (`large`; empty before). */
  const nrs: number[] = [];
  let large = false;
  const flush = (): void => {
    const n = live.length;
    if (!n) return;
    const cols = new PageArrays(n, 0, 5, 0);
    const ev = { pfns: cols.i32(), gens: cols.u32(), refcounts: cols.i32(), pincounts: cols.i32(), mapcounts: cols.i32() };
    live.forEach((pfn, i) => {
      ev.pfns[i] = pfn;
      ev.gens[i] = m.genOf(pfn);
      ev.refcounts[i] = m.refcount(pfn);
      ev.pincounts[i] = m.pincount(pfn);
      ev.mapcounts[i] = (nrs[i] ?? 1) === 1 ? m.mapcount(pfn) : m.folio_mapcount(pfn);
    });
    if (large) k.emit({ type: 'frame_final', time: k.now, actor: 'kernel', ...ev, nrs: Int32Array.from(nrs) });
    else k.emit({ type: 'frame_final', time: k.now, actor: 'kernel', ...ev });
    live.length = 0;
    nrs.length = 0;
    large = false;
  };
  for (let pfn = 1; pfn < m.highWater; pfn++) {
    if (m.free[pfn]) continue;
    const order = m.folio_order(pfn);
    // A large folio: one entry for the whole folio, its counts on the head. The pages of each are
    // kept from the batch's first large one on.
    if (order && !large) {
      large = true;
      for (let j = 0; j < live.length; j++) nrs.push(1);
    }
    live.push(pfn);
    if (large) nrs.push(2 ** order);
    pfn += 2 ** order - 1;
    if (live.length === FRAME_FINAL_BATCH) flush();
  }
  flush();
  k.emit({ type: 'vmstat_final', time: k.now, actor: 'kernel', ...k.vmstat });
  k.emit({ type: 'run_end', time: k.now, actor: 'kernel', crashed: false });
}
