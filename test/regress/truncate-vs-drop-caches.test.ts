/**
 * Regression (fuzz seed 33496): truncate_inode_pages_range() took its victims up front and slept
 * after each removal; a drop_caches meanwhile removed and freed the rest, and truncate then removed
 * frames no longer in the page cache (internal TypeError reading 'i_mapping'). Each victim must be
 * re-checked after the sleep and skipped once it is no longer this file's folio at its index.
 */
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';
import { sanityRun } from '../../scripts/fuzz-sanity.mjs';

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

type Ev = { type: string; file?: string; reason?: string; index?: number; pfn?: number };

it('truncate skips the folios a concurrent drop_caches already removed: each f1 folio leaves the cache once, and is freed', () => {
  const events: Ev[] = [];
  // Tee the trace sanityRun's books read, so the checked run is the one whose events we look at.
  const tee: typeof runScenario = (s, opts) => runScenario(s, {
    ...opts, trace: (ev) => { events.push(ev as Ev); opts?.trace?.(ev); },
  });
  const { result, failures } = sanityRun(tee, SCENARIO, {});
  expect(failures).toEqual([]);
  expect(result?.results).toEqual({ 'a0.0': 'ok', 'a0.1': 'ok', 'a0.2': 'ok', 'a1.0': 'ok' });
  const f1 = (type: string): Ev[] => events.filter((e) => e.type === type && e.file === 'f1');
  const added = f1('filemap_add').map((e) => e.index);
  const removed = f1('filemap_remove');
  // The populate raced truncate: it cached indexes 0..8 before i_size fell to 0, and 9 never.
  expect(added).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // Truncate removed index 0 and slept; drop_caches took 1..8; truncate skipped them on waking.
  expect(removed.map((e) => [e.index, e.reason])).toEqual([
    [0, 'truncate'], ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => [i, 'invalidate']),
  ]);
  const freed = new Set(events.filter((e) => e.type === 'folio_free').map((e) => e.pfn));
  for (const e of removed) expect(freed.has(e.pfn)).toBe(true);
});
