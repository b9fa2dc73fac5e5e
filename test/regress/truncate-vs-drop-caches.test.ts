/**
 * Regression (fuzz seed 33496): truncate_inode_pages_range() took its victims up front and slept
 * after each removal; a drop_caches meanwhile removed and freed the rest, and truncate then removed
 * frames no longer in the page cache (internal TypeError reading 'i_mapping'). Truncate now removes
 * a folio batch at a time with no preemption point inside one (the kernel's folio_batch), and looks
 * each batch up afresh from its cursor after sleeping, so it never meets a folio drop_caches took.
 */
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';
import { sanityRun } from '../../scripts/fuzz-sanity.mjs';
import type { MmTraceEvent } from '../../src/mm/trace_events.js';
import { pagesOf } from '../helpers/pages.js';

/** The minimised fuzz scenario, with its recorded interleaving. */
const SCENARIO = {
  name: 'truncate-races-drop-caches',
  kernel: { policy: 'block-truncate' },
  files: {
    f0: { fs: 'ext4', size: '10p', dax: true },
    f1: { fs: 'ext4', size: '10p' },
  },
  actors: {
    a0: [
      { op: 'mmap', length: '10p', prot: 'rw', file: 'f1', addr: '0x7efffffd8000', flags: ['shared', 'populate'] },
      { op: 'fallocate', file: 'f0', mode: 'punch_hole', length: 24683 },
      { op: 'drop_caches' },
    ],
    a1: [{ op: 'ftruncate', file: 'f1', length: 0, after: '3327ns' }],
  },
  replay: { seed: 313, policy: 'block-truncate', window: 1000, choices: [1, 1, 0, 1, 0, 1, 0, 1, 0, 1] },
};

type Ev = { type: string; time: number; file?: string; reason?: string; index?: number; pfn?: number };

/** Run @s under the fuzz sanity books. Return: its failures, results, and its trace page by page. */
function sane(s: object): { failures: unknown[]; results: Record<string, string> | undefined; events: Ev[] } {
  const trace: MmTraceEvent[] = [];
  // Tee the trace sanityRun's books read, so the checked run is the one whose events we look at.
  const tee: typeof runScenario = (sc, opts) => runScenario(sc, {
    ...opts, trace: (ev) => { trace.push(ev); opts?.trace?.(ev); },
  });
  const { result, failures } = sanityRun(tee, s, {});
  return { failures, results: result?.results, events: pagesOf(trace) as Ev[] };
}

/** Each f1 folio truncate or drop_caches removed left the page cache once and was freed. */
function leftOnceAndFreed(events: Ev[]): Ev[] {
  const removed = events.filter((e) => e.type === 'filemap_remove' && e.file === 'f1');
  expect(new Set(removed.map((e) => e.index)).size).toBe(removed.length);
  const freed = new Set(events.filter((e) => e.type === 'folio_free').map((e) => e.pfn));
  for (const e of removed) expect(freed.has(e.pfn)).toBe(true);
  return removed;
}

it('truncate skips the folios a concurrent drop_caches already removed: each f1 folio leaves the cache once, and is freed', () => {
  const { failures, results, events } = sane(SCENARIO);
  expect(failures).toEqual([]);
  expect(results).toEqual({ 'a0.0': 'ok', 'a0.1': 'ok', 'a0.2': 'ok', 'a1.0': 'ok' });
  const added = events.filter((e) => e.type === 'filemap_add' && e.file === 'f1').map((e) => e.index);
  // The populate raced truncate: it cached indexes 0..8 before i_size fell to 0, and 9 never.
  expect(added).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // Truncate removed all nine in its first folio batch (up to 15 in 4.20), where nothing can run;
  // drop_caches came after and found none of them.
  expect(leftOnceAndFreed(events).map((e) => [e.index, e.reason])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => [i, 'truncate']));
});

it('drop_caches between two truncate folio batches takes the rest; truncate finds none of it on waking', () => {
  const s = {
    name: 'truncate-batches-vs-drop-caches', kernel: { policy: 'linux-4.20' },
    files: { f1: { fs: 'ext4', size: '20p' } },
    actors: {
      a0: [{ op: 'mmap', length: '20p', prot: 'rw', file: 'f1', flags: ['shared', 'populate'] }],
      a1: [{ op: 'ftruncate', file: 'f1', length: 0, at: '10us' }],
      // Truncate removes its first batch at 10.3 µs and sleeps 375 ns; drop_caches walks at 10.35 µs.
      a2: [{ op: 'drop_caches', at: '10250ns' }],
    },
  };
  const { failures, results, events } = sane(s);
  expect(failures).toEqual([]);
  expect(results).toEqual({ 'a0.0': 'ok', 'a1.0': 'ok', 'a2.0': 'ok' });
  const removed = leftOnceAndFreed(events);
  expect(removed.map((e) => [e.index, e.reason])).toEqual([
    ...Array.from({ length: 15 }, (_, i) => [i, 'truncate']), ...[15, 16, 17, 18, 19].map((i) => [i, 'invalidate']),
  ]);
  // The first batch is one event at one instant: fifteen folios, no preemption point between them.
  expect(new Set(removed.slice(0, 15).map((e) => e.time)).size).toBe(1);
});
