/**
 * Large page-cache folios (`folioSize`) per filesystem and era: what readahead, faults and writes
 * allocate, the note when the era cannot, truncate and punch-hole of part of a large folio (zeroed,
 * split, or — pinned — kept whole when dirty and on tmpfs, removed whole when clean), writeback and
 * reclaim per folio.
 */
import { describe, expect, it } from 'vitest';
import { eraRunner, kinds, of } from '../policy/era-fixtures.js';

/** A file @fs of 4 MiB with folioSize @folio, mapped shared as `buf`, and @ops. */
function file(fs: string, folio: string, ops: Record<string, unknown>[]) {
  return {
    name: 'large-folio', kernel: { memory: '64M' }, files: { f: { fs, size: '4M', folioSize: folio } },
    actors: { app: [{ op: 'mmap', file: 'f', length: '4M', prot: 'rw', flags: ['shared'], as: 'buf' }, ...ops] },
  };
}
const load = { op: 'load', addr: 'buf', length: '4K', as: 'l0' };
const pm = { op: 'pagemap', addr: 'buf', as: 'pm' };

describe('which folios a file gets', () => {
  it('tmpfs folioSize 2M: one 2 MiB folio on the first fault, mapped by a PMD in a shared mapping, in every era', () => {
    for (const era of ['linux-4.20', 'linux-6.12']) {
      const { r, evs } = eraRunner(era)(file('tmpfs', '2M', [load, pm]));
      expect(of(evs, 'folio_alloc').map((e) => e.nr)).toEqual([512]);
      expect([r.observed['pm'], r.ops['pm']?.['order'], r.notes ?? []]).toEqual(['pmd', 9, []]);
    }
  });

  it('a file PMD is cleared, not split, by a partial munmap: the pages kept are faulted in again by PTEs', () => {
    const { r, evs } = eraRunner('linux-6.12')(file('xfs', '2M', [
      load, pm, { op: 'munmap', addr: 'buf', offset: '1M', length: '4K', as: 'x' },
      { op: 'pagemap', addr: 'buf', as: 'cleared' }, { op: 'load', addr: 'buf', length: '4K', as: 'again' }, { op: 'pagemap', addr: 'buf', as: 'refaulted' },
    ]));
    expect(r.observed).toMatchObject({ pm: 'pmd', cleared: 'none', refaulted: 'pte' });
    expect(r.ops['refaulted']?.['order']).toBe(9);
    expect(of(evs, 'thp_split_pmd')).toEqual([]);
    expect(r.violations).toEqual([]);
  });

  it('a private file mapping maps a large folio by PTEs', () => {
    const s = file('xfs', '2M', [load, pm]);
    s.actors.app[0] = { op: 'mmap', file: 'f', length: '4M', prot: 'rw', flags: ['private'], as: 'buf' };
    expect(eraRunner('linux-6.12')(s).r.observed['pm']).toBe('pte');
  });

  it('tmpfs folioSize 64K: 4K folios and a note before 6.14, 64K folios from 6.14', () => {
    const old = eraRunner('linux-6.12')(file('tmpfs', '64K', [load, pm]));
    expect(old.r.ops['pm']?.['order']).toBe(0);
    expect(old.r.notes?.join()).toMatch(/folioSize 64K not used, 4K folios instead: tmpfs in linux-6.12 offers 4K or 2M/);
    const now = eraRunner('linux-6.14')(file('tmpfs', '64K', [load, pm]));
    expect([now.r.ops['pm']?.['order'], now.r.notes ?? []]).toEqual([4, []]);
  });

  it('xfs from 5.18 (4K and a note before); buffered writes make 4K folios until 6.6', () => {
    expect(eraRunner('linux-5.7')(file('xfs', '2M', [load, pm])).r.notes?.join()).toMatch(/xfs has large folios from 5.18/);
    const write = [{ op: 'pwrite', file: 'f', length: '4K', as: 'w' }, load, pm];
    const r519 = eraRunner('linux-5.19')(file('xfs', '2M', write)).r;
    expect([r519.ops['pm']?.['order'], r519.notes?.join()]).toEqual([0, expect.stringMatching(/buffered writes allocate 4K folios until 6.6/)]);
    expect(eraRunner('linux-6.6')(file('xfs', '2M', write)).r.ops['pm']?.['order']).toBe(9);
    expect(eraRunner('linux-5.19')(file('xfs', '2M', [load, pm])).r.ops['pm']?.['order']).toBe(9);
  });

  it('ext4 from 6.16; a folio never reaches past EOF', () => {
    expect(eraRunner('linux-6.12')(file('ext4', '2M', [load, pm])).r.notes?.join()).toMatch(/ext4 has large folios from 6.16/);
    expect(eraRunner('linux-6.16')(file('ext4', '2M', [load, pm])).r.ops['pm']?.['order']).toBe(9);
    const short = { ...file('xfs', '2M', [load, pm]), files: { f: { fs: 'xfs', size: '1M', folioSize: '2M' } } };
    short.actors.app[0] = { op: 'mmap', file: 'f', length: '1M', prot: 'rw', flags: ['shared'], as: 'buf' };
    expect(eraRunner('linux-6.12')(short).r.ops['pm']?.['order']).toBe(8);
  });
});

describe('truncate of part of a large folio', () => {
  /** gup @flags on the first 2 MiB, truncate to 1 MiB, then the GUP user writes below and beyond the new EOF. */
  const pinned = (fs: string, flags: string[]) => file(fs, '2M', [
    load, { op: 'gup', addr: 'buf', length: '2M', flags, as: 'pins' },
    { op: 'ftruncate', file: 'f', length: '1M', as: 'trunc' },
    { op: 'pin_write', pins: 'pins', offset: '512K', length: '4K', as: 'kept' },
    { op: 'pin_write', pins: 'pins', offset: '1536K', length: '4K', as: 'beyond' },
  ]);

  it('unpinned: the range is zeroed, the folio split, and its pages beyond EOF removed one by one', () => {
    const { r, evs } = eraRunner('linux-6.12')(file('xfs', '2M', [load, { op: 'ftruncate', file: 'f', length: '1M', as: 'trunc' }]));
    expect(of(evs, 'folio_truncate_partial').map((e) => e.outcome)).toEqual(['split']);
    expect(of(evs, 'filemap_remove').flatMap((e) => [...e.indices]).filter((i) => i >= 256 && i < 512)).toHaveLength(256);
    expect(r.violations).toEqual([]);
  });

  it('pinned and dirty (xfs, 6.12): kept whole; a write into its part beyond EOF is not lost', () => {
    const { r, evs } = eraRunner('linux-6.12')(pinned('xfs', ['pin', 'write']));
    expect(of(evs, 'folio_truncate_partial').map((e) => e.outcome)).toEqual(['kept']);
    expect(r.violations).toEqual([]);
  });

  it('pinned and clean (xfs, 6.12): removed whole, so writes into the part below EOF are lost too', () => {
    const { r, evs } = eraRunner('linux-6.12')(pinned('xfs', ['pin']));
    expect(of(evs, 'folio_truncate_partial').map((e) => e.outcome)).toEqual(['removed']);
    expect(of(evs, 'filemap_remove').flatMap((e) => [...(e.nrs ?? [1])])).toEqual([512]);
    expect(kinds(r)).toEqual(['lost-write']);
    expect(r.violations.map((v) => v.index).sort()).toEqual([128, 384]);
  });

  it('pinned on tmpfs: always kept whole (shmem marks it dirty first), 4.20 without even trying to split', () => {
    for (const era of ['linux-4.20', 'linux-6.12']) {
      const { r, evs } = eraRunner(era)(pinned('tmpfs', ['pin']));
      expect([era, of(evs, 'folio_truncate_partial').map((e) => e.outcome), r.violations]).toEqual([era, ['kept'], []]);
    }
  });

  it('punch-hole inside a folio zeroes the hole: a load there reads zeros, outside it the old data', () => {
    const { r } = eraRunner('linux-6.12')(file('tmpfs', '2M', [
      { op: 'store', addr: 'buf', length: '2M', as: 's' }, { op: 'gup', addr: 'buf', length: '4K', flags: ['pin'], as: 'pins' },
      { op: 'fallocate', file: 'f', mode: 'punch_hole', offset: '8K', length: '8K', as: 'hole' },
      { op: 'load', addr: 'buf', offset: '8K', length: '4K', as: 'inhole' }, { op: 'load', addr: 'buf', offset: '16K', length: '4K', as: 'after' },
    ]));
    expect(r.observed).toMatchObject({ inhole: 'zero', after: 's' });
  });
});

describe('writeback and reclaim per folio', () => {
  it('fsync writes a dirty large folio back whole, all its pages', () => {
    const { evs } = eraRunner('linux-6.12')(file('xfs', '2M', [{ op: 'store', addr: 'buf', length: '4K', as: 's' }, { op: 'fsync', file: 'f', as: 'sync' }]));
    expect(of(evs, 'storage_write')).toHaveLength(512);
  });

  it('reclaim frees a clean unreferenced large folio whole, and leaves a pinned one', () => {
    const run = (pin: boolean) => eraRunner('linux-6.12')(file('xfs', '2M', [
      load, ...(pin ? [{ op: 'gup', addr: 'buf', length: '4K', flags: ['pin'], as: 'pins' }] : []),
      { op: 'munmap', addr: 'buf', length: '4M', as: 'u' }, { op: 'reclaim', target: '4M', as: 'rc' },
    ]));
    expect(of(run(false).evs, 'filemap_remove').map((e) => [e.reason, [...(e.nrs ?? [])]])).toEqual([['reclaim', [512]]]);
    expect(of(run(true).evs, 'filemap_remove')).toEqual([]);
  });
});
