/**
 * lost-write (docs/invariants.md): a write that completed `ok` landed in a frame that at that instant was no
 * longer the page-cache page of the file index it was obtained for (removed by truncate, punch-hole
 * or invalidation while a reference kept it alive). Not lost: a write the file later discards by
 * truncating its own range, dirty data still cached at the end, a write into a freed frame (that is
 * dma-use-after-free), a write into a dummy page (dummy-page-dma). Reported at the write; also a
 * dirty page writeback skipped and dropped (ext4 ≥ 5.18 without buffers), reported at the skip.
 * The checker's page-cache books say, per frame, which file page it is cached as (none: 0); every
 * page of a large folio is booked as its own file page.
 */
import type { MmEventOf } from '../mm/trace_events.js';
import { f64Column, i32Column, Interner } from './books.js';
import { toChains, type Checker, type CheckerCtx, type CheckerInstance, type ViolationReport } from './checker.js';

function create(ctx: CheckerCtx): CheckerInstance {
  const { frames, history } = ctx.books;
  const files = new Interner();
  /** The file each frame is cached for (its id, 0 none), and at which index. */
  const cachedFile = i32Column();
  const cachedIndex = f64Column(-1);
  /** Writes of a DMA still in flight, reported only if it completes ok. */
  const pending = new Map<string, ViolationReport[]>();
  /** The durable token of each file page, from storage_write (never written: zero, token 0), by file id. */
  const stored = new Map<number, Map<number, number>>();

  function check(ev: MmEventOf<'dma_access'> | MmEventOf<'cpu_access'>): ViolationReport | null {
    if (!ev.write || ev.file === '' || ev.index < 0) return null;
    if (cachedFile.get(ev.pfn) === files.id(ev.file) && cachedIndex.get(ev.pfn) === ev.index) return null;
    // Into a freed or reallocated frame: that is dma-use-after-free, not a lost write.
    if (frames.free.get(ev.pfn) || frames.gen.get(ev.pfn) !== ev.gen) return null;
    const removed = history.get(ev.pfn, 'filemap_remove');
    const how = removed && removed.type === 'filemap_remove' ? `${removed.reason} removed it from ${ev.file}'s page cache` : `it is not ${ev.file}'s page cache page`;
    return {
      kind: 'lost-write', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
      message: `${ev.actor} wrote pfn 0x${ev.pfn.toString(16)} for ${ev.file}@${ev.index} after ${how}: the write never reaches ${ev.file}`,
      chain: toChains(history.chain(ev.pfn, ['dma_ref_get', 'filemap_remove'], ev)),
    };
  }

  return {
    on: {
      filemap_add(ev) {
        // Each page of a large folio is cached as its own file page: the head's index plus its offset.
        const id = files.id(ev.file);
        for (let i = 0; i < (ev.nr ?? 1); i++) {
          cachedFile.set(ev.pfn + i, id);
          cachedIndex.set(ev.pfn + i, ev.index + i);
        }
      },
      filemap_remove(ev) {
        const id = files.id(ev.file);
        const p = ev.pfns;
        for (let i = 0; i < p.length; i++) {
          const head = p[i] as number, index = ev.indices[i] as number;
          for (let j = 0; j < (ev.nrs ? (ev.nrs[i] as number) : 1); j++) {
            if (cachedFile.get(head + j) === id && cachedIndex.get(head + j) === index + j) cachedFile.a[head + j] = 0;
          }
        }
      },
      storage_write(ev) {
        const id = files.id(ev.file);
        const m = stored.get(id) ?? new Map<number, number>();
        m.set(ev.index, ev.token);
        stored.set(id, m);
      },
      writeback_skip(ev) {
        // Nothing is lost when the page holds what storage already has.
        if ((stored.get(files.id(ev.file))?.get(ev.index) ?? 0) === ev.token) return;
        ctx.report({
          kind: 'lost-write', time: ev.time, actor: ev.actor, pfn: ev.pfn, file: ev.file, index: ev.index,
          message: `writeback skipped dirty pfn 0x${ev.pfn.toString(16)} (${ev.file}@${ev.index}) because it has no buffers: its data never reaches ${ev.file}`,
          chain: toChains(history.chain(ev.pfn, ['dma_ref_get', 'folio_buffers', 'folio_dirty'], ev)),
        });
      },
      cpu_access(ev) {
        const v = check(ev);
        if (v) ctx.report(v);
      },
      dma_access(ev) {
        const v = check(ev);
        if (!v) return;
        const l = pending.get(ev.wr) ?? [];
        l.push(v);
        pending.set(ev.wr, l);
      },
      dma_complete(ev) {
        const l = pending.get(ev.wr);
        pending.delete(ev.wr);
        if (l && ev.status === 'ok') for (const v of l) ctx.report(v);
      },
    },
    finish(): void {},
    reset(): void {
      files.reset();
      cachedFile.reset();
      cachedIndex.reset();
      if (pending.size) pending.clear();
      if (stored.size) stored.clear();
    },
  };
}

export const lost_write: Checker = { kind: 'lost-write', description: 'a completed write landed in a page no longer in its file', create };
