/** Scenarios more than one checker's tests run. */

/** munmap of a buffer a classic MR pins, then a new buffer: had munmap freed the pinned frames, the LIFO free list would hand them to buf2. */
export const MUNMAP_PINNED = {
  name: 'munmap-pinned-buffer',
  kernel: { memory: '64M' },
  devices: { nic0: { model: 'gup-nic' } },
  actors: {
    app: [
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private', 'populate'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '16K', as: 's1' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
      { op: 'munmap', addr: 'buf', length: '16K', at: '20us' },
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf2' },
      { op: 'store', addr: 'buf2', length: '16K', as: 's2' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '16K', at: '30us', as: 'r' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w' },
      { op: 'load', addr: 'buf2', length: '4K', as: 'cpusaw' },
      { op: 'dereg_mr', mr: 'mr', at: '50us' },
    ],
  },
};

import { createCheckers, type Checker, type CheckerCtx, type ViolationReport } from '../../../src/invariants/checker.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';

/**
 * feed() - run @checker over the synthetic trace @evs as a run would: its handlers subscribed by
 * event type after the shared books, the trace position counted per event. Return: its reports.
 */
export function feed(
  checker: Checker, evs: readonly MmTraceEvent[], ctx: Pick<CheckerCtx, 'policy' | 'livenessBound' | 'until' | 'cutByUntil' | 'note'>,
): ViolationReport[] {
  const out: ViolationReport[] = [];
  let n = 0;
  const set = createCheckers([checker], { ...ctx, report: (v) => out.push(v), position: () => n });
  const byType = new Map<string, ((ev: MmTraceEvent) => void)[]>();
  for (const [t, fn] of set.subscriptions) byType.set(t, [...(byType.get(t) ?? []), fn]);
  for (const e of evs) {
    n++;
    for (const fn of byType.get(e.type) ?? []) fn(e);
  }
  for (const c of set.instances) c.finish();
  return out;
}

/** One page of a zap: the PTE of @va in @mm, mapping @pfn, cleared (a pte_clear of one page). */
export const pteClearOf = (time: number, actor: string, mm: string, va: number, pfn: number, dirty = false): MmEventOf<'pte_clear'> =>
  ({ type: 'pte_clear', time, actor, mm, start: va, end: va + 4096, pfns: Int32Array.of(pfn), dirty: Uint8Array.of(dirty ? 1 : 0) });

/** @pfns freed together (a folio_free batch). */
export const folioFreeOf = (time: number, actor: string, ...pfns: number[]): MmEventOf<'folio_free'> =>
  ({ type: 'folio_free', time, actor, pfns: Int32Array.from(pfns) });

/** One folio of @file at @index removed from the page cache (a filemap_remove of one folio). */
export const filemapRemoveOf = (time: number, actor: string, file: string, index: number, pfn: number, refcount: number, reason: string, pincount = 0): MmEventOf<'filemap_remove'> =>
  ({ type: 'filemap_remove', time, actor, file, reason, indices: Float64Array.of(index), pfns: Int32Array.of(pfn), refcounts: Int32Array.of(refcount), pincounts: Int32Array.of(pincount) });

/** One translation installed by @device (a dev_map of one page). */
export const devMapOf = (
  time: number, device: string, mm: string, va: number, pfn: number, o: { gen?: number; file?: string; index?: number; write?: boolean; snapSeq?: number; holdsRef?: boolean } = {},
): MmEventOf<'dev_map'> => ({
  type: 'dev_map', time, actor: device, device, mm, start: va, end: va + 4096, file: o.file ?? '', pfns: Int32Array.of(pfn),
  gens: Uint32Array.of(o.gen ?? 1), indices: Float64Array.of(o.index ?? -1), write: Uint8Array.of(o.write === false ? 0 : 1),
  snapSeq: o.snapSeq ?? 0, holdsRef: o.holdsRef ?? false,
});

/** One translation dropped by @device (a dev_unmap of one page). */
export const devUnmapOf = (time: number, device: string, mm: string, va: number, pfn: number): MmEventOf<'dev_unmap'> =>
  ({ type: 'dev_unmap', time, actor: device, device, mm, start: va, end: va + 4096, pfns: Int32Array.of(pfn) });

/** One live frame's counts at the end of the run (a frame_final of one frame). */
export const frameFinalOf = (time: number, pfn: number, refcount: number, pincount = 0, mapcount = 0, gen = 1): MmEventOf<'frame_final'> =>
  ({ type: 'frame_final', time, actor: 'kernel', pfns: Int32Array.of(pfn), gens: Uint32Array.of(gen), refcounts: Int32Array.of(refcount), pincounts: Int32Array.of(pincount), mapcounts: Int32Array.of(mapcount) });
