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
import { write_cache_pages } from '../../mm/page-writeback.js';
import { reclaim_buffers, shrink_folio_list } from '../../mm/vmscan.js';
import type { KernelSpec } from '../format/types.js';

/** spawnBackground() - start the periodic kernel threads @kernel asks for. */
export function spawnBackground(k: Kernel, kernel: KernelSpec): void {
  const loop = (name: string, period: number, body: () => Co<unknown>) => {
    const holder: { actor: Actor | null } = { actor: null };
    holder.actor = k.sched.spawn(name, (function* () {
      for (;;) {
        yield* delay(period, `${name}:sleep`);
        if (k.sched.draining) return;
        if (holder.actor) holder.actor.busy = true;
        yield* body();
        if (holder.actor) holder.actor.busy = false;
      }
    })(), { background: true, at: 0 });
  };
  if (kernel.writeback) loop('kworker/flush', kernel.writeback.period, function* () {
    for (const f of [...k.inodes.values()]) yield* write_cache_pages(k, f, 0, Infinity);
  });
  if (kernel.reclaim) loop('kswapd0', kernel.reclaim.period, function* () {
    yield* reclaim_buffers(k);
    yield* shrink_folio_list(k, 32);
  });
  if (kernel.compaction) loop('kcompactd0', kernel.compaction.period, () => compact_zone(k));
  if (kernel.khugepaged) loop('khugepaged', kernel.khugepaged.period, () => khugepaged_scan(k));
}

/** finalEvents() - the end-of-run events: every live folio's counts, the pin counters, then run_end. */
export function finalEvents(k: Kernel): void {
  const m = k.mem;
  for (let pfn = 1; pfn < m.highWater; pfn++) {
    if (m.free[pfn]) continue;
    const order = m.folio_order(pfn);
    if (order) {
      // A large folio: one event for the whole folio, its counts on the head.
      const nr = 2 ** order;
      k.emit({
        type: 'frame_final', time: k.now, actor: 'kernel', pfn, gen: m.genOf(pfn),
        refcount: m.refcount(pfn), pincount: m.pincount(pfn), mapcount: m.folio_mapcount(pfn), nr,
      });
      pfn += nr - 1;
      continue;
    }
    k.emit({
      type: 'frame_final', time: k.now, actor: 'kernel', pfn, gen: m.genOf(pfn),
      refcount: m.refcount(pfn), pincount: m.pincount(pfn), mapcount: m.mapcount(pfn),
    });
  }
  k.emit({ type: 'vmstat_final', time: k.now, actor: 'kernel', ...k.vmstat });
  k.emit({ type: 'run_end', time: k.now, actor: 'kernel', crashed: false });
}
