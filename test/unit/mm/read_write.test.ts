import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { filemap_get_folio } from '../../../src/mm/filemap.js';
import type { Inode } from '../../../src/mm/fs/inode.js';
import { do_msync, do_pread, do_punch_hole, do_pwrite, drop_caches, vfs_fsync_range } from '../../../src/mm/fs/read_write.js';
import { get_user_pages_unlocked } from '../../../src/mm/gup.js';
import { do_mmap, do_munmap, type MmapArgs } from '../../../src/mm/mmap.js';
import { pte_present, pte_write, type MmStruct } from '../../../src/mm/mm_types.js';
import { KernelBugStop } from '../../../src/mm/mmdebug.js';
import { folio_detach_buffers, folio_mark_dirty, storage_token } from '../../../src/mm/page-writeback.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import type { MmChainEvent } from '../../../src/mm/trace_events.js';
import { pagesOfType } from '../../helpers/pages.js';
import { do_truncate } from '../../../src/mm/truncate.js';
import { FOLL_GET, PG_dirty, PG_private } from '../../../src/mm/types.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

const shared = (file: Inode, length: number, o: Partial<MmapArgs> = {}): MmapArgs => ({
  addr: null, length, prot: 'rw', shared: true, private: false, fixed: false, populate: false, file, offset: 0, ...o,
});

function setup(era: '4.20' | '6.12' = '6.12', fs: 'ext4' | 'xfs' | 'tmpfs' = 'ext4', size = 4 * PAGE) {
  const t = makeKernel(era);
  const p = t.k.create_process('p');
  const f = t.k.create_inode('f', fs, false, size);
  return { t, mm: p.mm, f };
}

const flagsOf = (t: TestKernel, f: Inode, index: number) => t.k.mem.flags[filemap_get_folio(f.i_mapping, index)] as number;
const since = <T extends MmChainEvent['type']>(t: TestKernel, from: number, type: T) => pagesOfType(t.events.slice(from), type);
const pteOf = (mm: MmStruct, va: number) => mm.pgtable.get(va / PAGE);

describe('pread (filemap_read)', () => {
  it('reads "zero" tokens from a file never written, one per page up to EOF', () => {
    const { t, f } = setup();
    expect(t.run(do_pread(t.k, f, 0, 4 * PAGE))).toEqual([0, 0, 0, 0]);
    expect(t.k.contents[0]).toBe('zero');
    expect(f.i_mapping.i_pages.count).toBe(4);
  });

  it('reads nothing at or past EOF, and stops at EOF for a read that crosses it', () => {
    const { t, f } = setup();
    expect(t.run(do_pread(t.k, f, 4 * PAGE, PAGE))).toEqual([]);
    expect(t.run(do_pread(t.k, f, 10 * PAGE, 2 * PAGE))).toEqual([]);
    expect(t.run(do_pread(t.k, f, 3 * PAGE, 4 * PAGE))).toEqual([0]);
    expect(filemap_get_folio(f.i_mapping, 4)).toBe(-1);
  });

  it('reads what storage holds for an uncached page', () => {
    const { t, f } = setup();
    const tok = t.k.new_content('ondisk');
    f.storage.set(2, tok);
    expect(t.run(do_pread(t.k, f, 2 * PAGE, PAGE))).toEqual([tok]);
  });
});

describe('pwrite (generic_perform_write)', () => {
  it('extends i_size, attaches buffers on ext4 and dirties the page; pread sees the new content', () => {
    const { t, f } = setup();
    const tok = t.k.new_content('w');
    expect(t.run(do_pwrite(t.k, f, 5 * PAGE, PAGE, tok))).toBe(0);
    expect(f.i_size).toBe(6 * PAGE);
    expect(flagsOf(t, f, 5) & PG_private).toBeTruthy();
    expect(flagsOf(t, f, 5) & PG_dirty).toBeTruthy();
    expect(t.run(do_pread(t.k, f, 5 * PAGE, PAGE))).toEqual([tok]);
    expect(storage_token(t.k, f, 5)).toBe(0); // not written back yet
    expect(since(t, 0, 'i_size').map((e) => [e.old, e.size])).toEqual([[4 * PAGE, 6 * PAGE]]);
  });

  it('a pwrite inside the file leaves i_size alone', () => {
    const { t, f } = setup();
    expect(t.run(do_pwrite(t.k, f, PAGE, 100, t.k.new_content('w')))).toBe(0);
    expect(f.i_size).toBe(4 * PAGE);
  });

  it('tmpfs dirties the page without buffer heads', () => {
    const { t, f } = setup('6.12', 'tmpfs');
    expect(t.run(do_pwrite(t.k, f, 0, PAGE, t.k.new_content('w')))).toBe(0);
    expect(flagsOf(t, f, 0) & PG_private).toBe(0);
    expect(flagsOf(t, f, 0) & PG_dirty).toBeTruthy();
  });

  it('returns EFBIG past the largest file size', () => {
    const { t, f } = setup();
    expect(t.run(do_pwrite(t.k, f, 16 * 1024 ** 4, PAGE, 1))).toBe('EFBIG');
  });
});

describe('fsync and msync (write_cache_pages, folio_mkclean)', () => {
  it('fsync writes dirty pages to storage and cleans them', () => {
    const { t, f } = setup();
    const tok = t.k.new_content('w');
    t.run(do_pwrite(t.k, f, PAGE, PAGE, tok));
    expect(t.run(vfs_fsync_range(t.k, f))).toBe(0);
    expect(storage_token(t.k, f, 1)).toBe(tok);
    expect(flagsOf(t, f, 1) & PG_dirty).toBe(0);
    expect(since(t, 0, 'storage_write').map((e) => e.index)).toEqual([1]);
  });

  it('fsync write-protects the shared PTEs of a dirty page under MMU_NOTIFY_PROTECTION_PAGE, so the next store goes through page_mkwrite again', () => {
    const { t, mm, f } = setup();
    const a = t.run(do_mmap(t.k, mm, shared(f, 4 * PAGE), '')) as number;
    const tok = t.k.new_content('s1');
    t.run(cpu_access(t.k, mm, a + PAGE, PAGE, tok));
    expect(pte_write(pteOf(mm, a + PAGE))).toBe(true);
    const n = t.events.length;
    t.run(vfs_fsync_range(t.k, f));
    expect(since(t, n, 'notifier_start').map((e) => [e.event, e.start, e.end])).toEqual([['MMU_NOTIFY_PROTECTION_PAGE', a + PAGE, a + 2 * PAGE]]);
    expect(pte_present(pteOf(mm, a + PAGE))).toBe(true);
    expect(pte_write(pteOf(mm, a + PAGE))).toBe(false);
    expect(storage_token(t.k, f, 1)).toBe(tok);
    const m = t.events.length;
    t.run(cpu_access(t.k, mm, a + PAGE, PAGE, t.k.new_content('s2')));
    expect(since(t, m, 'folio_dirty').map((e) => e.via)).toEqual(['page_mkwrite']);
    expect(pte_write(pteOf(mm, a + PAGE))).toBe(true);
  });

  it('msync returns EINVAL for an unaligned start or MS_SYNC|MS_ASYNC, ENOMEM over an unmapped part, 0 for length 0', () => {
    const { t, mm, f } = setup();
    const a = t.run(do_mmap(t.k, mm, shared(f, 2 * PAGE), '')) as number;
    expect(t.run(do_msync(t.k, mm, a + 1, PAGE, ['sync']))).toBe('EINVAL');
    expect(t.run(do_msync(t.k, mm, a, PAGE, ['sync', 'async']))).toBe('EINVAL');
    expect(t.run(do_msync(t.k, mm, a, 3 * PAGE, ['sync']))).toBe('ENOMEM');
    expect(t.run(do_msync(t.k, mm, a - PAGE, 2 * PAGE, ['sync']))).toBe('ENOMEM');
    expect(t.run(do_msync(t.k, mm, a, 0, ['sync']))).toBe(0);
  });

  it('MS_ASYNC is a no-op (since 2.6.19): the page stays dirty and storage is unchanged; MS_SYNC writes it back', () => {
    const { t, mm, f } = setup();
    const a = t.run(do_mmap(t.k, mm, shared(f, 2 * PAGE), '')) as number;
    const tok = t.k.new_content('s1');
    t.run(cpu_access(t.k, mm, a, PAGE, tok));
    const n = t.events.length;
    expect(t.run(do_msync(t.k, mm, a, 2 * PAGE, ['async']))).toBe(0);
    expect(flagsOf(t, f, 0) & PG_dirty).toBeTruthy();
    expect(storage_token(t.k, f, 0)).toBe(0);
    expect(since(t, n, 'notifier_start')).toHaveLength(0);
    expect(t.run(do_msync(t.k, mm, a, 2 * PAGE, ['sync']))).toBe(0);
    expect(storage_token(t.k, f, 0)).toBe(tok);
    expect(flagsOf(t, f, 0) & PG_dirty).toBe(0);
  });

  it('MS_SYNC writes back only the file range the mapping covers (vm_pgoff applied)', () => {
    const { t, mm, f } = setup();
    t.run(do_pwrite(t.k, f, 0, 4 * PAGE, t.k.new_content('pw')));
    const a = t.run(do_mmap(t.k, mm, shared(f, PAGE, { offset: 2 * PAGE }), '')) as number;
    expect(t.run(do_msync(t.k, mm, a, PAGE, ['sync']))).toBe(0);
    expect([0, 1, 2, 3].map((i) => (flagsOf(t, f, i) & PG_dirty) !== 0)).toEqual([true, true, false, true]);
  });
});

describe('drop_caches (invalidate_mapping_pages)', () => {
  it('drops clean, unmapped, unreferenced folios (buffers stripped) and keeps dirty, mapped and pinned ones', () => {
    const { t, mm, f } = setup('4.20');
    // 0: clean with buffers (written back); 1: dirty; 2: mapped; 3: held by a FOLL_GET reference, unmapped.
    t.run(do_pwrite(t.k, f, 0, PAGE, t.k.new_content('w0')));
    t.run(vfs_fsync_range(t.k, f));
    t.run(do_pwrite(t.k, f, PAGE, PAGE, t.k.new_content('w1')));
    const a = t.run(do_mmap(t.k, mm, shared(f, 4 * PAGE), '')) as number;
    t.run(cpu_access(t.k, mm, a + 2 * PAGE, PAGE, -1));
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a + 3 * PAGE, 1, FOLL_GET, 'odirect')) as DmaRef;
    t.run(do_munmap(t.k, mm, a + 3 * PAGE, PAGE));
    const p0 = filemap_get_folio(f.i_mapping, 0);
    expect(flagsOf(t, f, 0) & (PG_dirty | PG_private)).toBe(PG_private);
    const n = t.events.length;
    expect(t.run(drop_caches(t.k))).toBe(0);
    expect(filemap_get_folio(f.i_mapping, 0)).toBe(-1);
    expect(t.k.mem.free[p0]).toBe(1);
    expect(since(t, n, 'folio_buffers').map((e) => [e.pfn, e.attached])).toEqual([[p0, false]]);
    expect(since(t, n, 'filemap_remove').map((e) => [e.index, e.reason])).toEqual([[0, 'invalidate']]);
    expect(filemap_get_folio(f.i_mapping, 1)).toBeGreaterThan(0);
    expect(filemap_get_folio(f.i_mapping, 2)).toBeGreaterThan(0);
    expect(filemap_get_folio(f.i_mapping, 3)).toBe(ref.pfns[0]);
    // The dropped page reads back from storage.
    expect(t.run(do_pread(t.k, f, 0, PAGE))).toEqual([t.k.contents.indexOf('w0')]);
  });
});

describe('fallocate(PUNCH_HOLE) (truncate_pagecache_range)', () => {
  function written(era: '4.20' | '6.12' = '4.20') {
    const s = setup(era);
    const tok = s.t.k.new_content('w');
    s.t.run(do_pwrite(s.t.k, s.f, 0, 4 * PAGE, tok));
    s.t.run(vfs_fsync_range(s.t.k, s.f));
    return { ...s, tok };
  }

  it('returns EINVAL for length 0', () => {
    const { t, f } = written();
    expect(t.run(do_punch_hole(t.k, f, 0, 0))).toBe('EINVAL');
    expect(f.i_mapping.i_pages.count).toBe(4);
  });

  it('the hole reads as zeros afterwards (cache and storage), the rest keeps its data, i_size is unchanged', () => {
    const { t, f, tok } = written();
    const p1 = filemap_get_folio(f.i_mapping, 1);
    expect(t.run(do_punch_hole(t.k, f, PAGE, 2 * PAGE))).toBe(0);
    expect(f.i_size).toBe(4 * PAGE);
    expect(filemap_get_folio(f.i_mapping, 1)).toBe(-1);
    expect(t.k.mem.free[p1]).toBe(1);
    expect([0, 1, 2, 3].map((i) => storage_token(t.k, f, i))).toEqual([tok, 0, 0, tok]);
    expect(t.run(do_pread(t.k, f, 0, 4 * PAGE))).toEqual([tok, 0, 0, tok]);
  });

  it('unmaps the hole from shared mappings under MMU_NOTIFY_CLEAR, and the next load faults in a zero page', () => {
    const { t, mm, f, tok } = written();
    const a = t.run(do_mmap(t.k, mm, shared(f, 4 * PAGE), '')) as number;
    t.run(cpu_access(t.k, mm, a, 4 * PAGE, -1));
    const n = t.events.length;
    t.run(do_punch_hole(t.k, f, 2 * PAGE, PAGE));
    expect(since(t, n, 'notifier_start').some((e) => e.event === 'MMU_NOTIFY_CLEAR' && e.start === a + 2 * PAGE && e.end === a + 3 * PAGE)).toBe(true);
    expect(pte_present(pteOf(mm, a + 2 * PAGE))).toBe(false);
    expect(pte_present(pteOf(mm, a + PAGE))).toBe(true);
    expect(t.run(cpu_access(t.k, mm, a, 4 * PAGE, -1)).tokens).toEqual([tok, tok, 0, tok]);
  });

  it('a folio a DMA reference holds is orphaned, not freed: out of the page cache, mapping NULL, alive with only that reference', () => {
    const { t, mm, f, tok } = written('4.20');
    const a = t.run(do_mmap(t.k, mm, shared(f, 4 * PAGE), '')) as number;
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a + PAGE, 1, FOLL_GET, 'nic0')) as DmaRef;
    const pfn = ref.pfns[0] as number;
    expect(t.run(do_punch_hole(t.k, f, PAGE, PAGE))).toBe(0);
    expect(filemap_get_folio(f.i_mapping, 1)).toBe(-1);
    expect(t.k.mem.free[pfn]).toBe(0);
    expect(t.k.mem.mapping[pfn]).toBe(0);
    expect(t.k.mem._mapcount[pfn]).toBe(0);
    expect(t.k.mem._refcount[pfn]).toBe(1);
    expect(t.k.mem.content[pfn]).toBe(tok); // the device still sees the old data
    expect(t.run(do_pread(t.k, f, PAGE, PAGE))).toEqual([0]);
    const rm = since(t, 0, 'filemap_remove').find((e) => e.pfn === pfn);
    expect(rm).toMatchObject({ reason: 'punch_hole', refcount: 1 });
  });

  it.each(['4.20', '6.12'] as const)('under linux-%s a private COW copy inside the hole survives (one unmap without even_cows); truncate zaps it (even_cows)', (era) => {
    const { t, mm, f, tok } = written(era);
    const a = t.run(do_mmap(t.k, mm, { ...shared(f, 4 * PAGE), shared: false, private: true }, '')) as number;
    t.run(cpu_access(t.k, mm, a, 4 * PAGE, -1));
    const mine = t.k.new_content('mine');
    t.run(cpu_access(t.k, mm, a + PAGE, PAGE, mine));
    expect(t.run(do_punch_hole(t.k, f, 0, 2 * PAGE))).toBe(0);
    // Page 1's private copy keeps the process's data; page 0 (read-only page cache) re-faults zeros.
    expect(t.run(cpu_access(t.k, mm, a, 4 * PAGE, -1)).tokens).toEqual([0, mine, tok, tok]);
    expect(t.run(do_truncate(t.k, f, 0))).toBe(0);
    expect(pte_present(pteOf(mm, a + PAGE))).toBe(false);
  });

  it('pages only partly inside the hole stay cached with their data', () => {
    const { t, f, tok } = written();
    const p0 = filemap_get_folio(f.i_mapping, 0), p1 = filemap_get_folio(f.i_mapping, 1);
    // [2K, 6K): covers no whole page.
    expect(t.run(do_punch_hole(t.k, f, PAGE / 2, PAGE))).toBe(0);
    expect([filemap_get_folio(f.i_mapping, 0), filemap_get_folio(f.i_mapping, 1)]).toEqual([p0, p1]);
    expect([storage_token(t.k, f, 0), storage_token(t.k, f, 1)]).toEqual([tok, tok]);
    // [2K, 10K): only page 1 is wholly inside.
    expect(t.run(do_punch_hole(t.k, f, PAGE / 2, 2 * PAGE))).toBe(0);
    expect(filemap_get_folio(f.i_mapping, 0)).toBe(p0);
    expect(filemap_get_folio(f.i_mapping, 1)).toBe(-1);
    expect(filemap_get_folio(f.i_mapping, 2)).toBeGreaterThan(0);
    expect([0, 1, 2].map((i) => storage_token(t.k, f, i))).toEqual([tok, 0, tok]);
  });
});

describe('ext4 writeback of a dirty page without buffers (kernel-semantics §2 S7)', () => {
  /** Page 0 of f holds "old" on storage and in the cache; then new data dirties it behind ext4's back. */
  function bufferless(era: '4.20' | '6.12') {
    const { t, f } = setup(era);
    const old = t.k.new_content('old');
    t.run(do_pwrite(t.k, f, 0, PAGE, old));
    t.run(vfs_fsync_range(t.k, f));
    const pfn = filemap_get_folio(f.i_mapping, 0);
    // S4: buffers stripped while the page stays cached; S5/S6: new data, dirtied without page_mkwrite.
    folio_detach_buffers(t.k, pfn);
    const neu = t.k.new_content('new');
    t.k.mem.content[pfn] = neu;
    folio_mark_dirty(t.k, pfn, 'unpin:nic0');
    return { t, f, pfn, old, neu };
  }

  it('under linux-4.20 the writeback BUGs in mpage_prepare_extent_to_map (after the set_page_dirty WARN) and the kernel stops', () => {
    const { t, f, old } = bufferless('4.20');
    expect(since(t, 0, 'kernel_warn').map((e) => e.site)).toEqual(['fs/ext4/inode.c:ext4_dirty_folio']);
    expect(() => t.run(vfs_fsync_range(t.k, f))).toThrow(KernelBugStop);
    expect(since(t, 0, 'kernel_bug').map((e) => e.site)).toEqual(['fs/ext4/inode.c:mpage_prepare_extent_to_map']);
    expect(storage_token(t.k, f, 0)).toBe(old);
  });

  it('under linux-6.12 the writeback logs ext4_warning_inode (no WARN), skips the page and drops its data: storage keeps the old content', () => {
    const { t, f, pfn, old, neu } = bufferless('6.12');
    expect(t.run(vfs_fsync_range(t.k, f))).toBe(0);
    // Only ext4_dirty_folio's WARN_ON_ONCE (at the dirtying); the skip itself is a printk.
    expect(since(t, 0, 'kernel_warn').map((e) => e.site)).toEqual(['fs/ext4/inode.c:ext4_dirty_folio']);
    expect(since(t, 0, 'writeback_skip').map((e) => [e.pfn, e.index, e.token])).toEqual([[pfn, 0, neu]]);
    expect(storage_token(t.k, f, 0)).toBe(old);
    expect(t.k.mem.flags[pfn]! & PG_dirty).toBe(0);
    expect(since(t, 0, 'storage_write').filter((e) => e.token === neu)).toEqual([]);
  });

  /**
   * Scenario level: a page read in by a fault has no buffers (ext4 reads through mpage); a read-only
   * GUP reference released with dirty (set_page_dirty_lock at unpin) dirties it behind ext4's back.
   */
  const scenario = (policy: string) => ({
    name: 'ext4-dirty-without-buffers',
    kernel: { policy, memory: '64M' },
    files: { f: { fs: 'ext4', size: '16K' } },
    actors: {
      app: [
        { op: 'pwrite', file: 'f', offset: 0, length: '4K', as: 'old' },
        { op: 'fsync', file: 'f' },
        { op: 'drop_caches' },
        { op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'gup', addr: 'buf', length: '4K', flags: policy === 'linux-4.20' ? ['get'] : ['pin'], as: 'io' },
        { op: 'unpin', pins: 'io', dirty: true },
        { op: 'fsync', file: 'f' },
        { op: 'load', addr: 'buf', length: '4K', as: 'after' },
        { op: 'munmap', addr: 'buf', length: '16K' },
      ],
    },
    expect: { observed: { 'storage:f@0': 'old' } },
  });

  it('scenario under linux-4.20: the fsync is a kernel-bug, it ends `crashed` and the later ops `not-run`', () => {
    const r = runScenario(scenario('linux-4.20'), { policy: 'linux-4.20' });
    const kinds = r.violations.map((v) => v.kind);
    expect(kinds).toContain('kernel-bug');
    expect(kinds).toContain('kernel-warn');
    expect(r.results['app.5']).toBe('ok');
    expect(r.results['app.6']).toBe('crashed');
    expect(r.results['after']).toBe('not-run');
    expect(r.results['app.8']).toBe('not-run');
    expect(r.observed['storage:f@0']).toBe('old');
  });

  it('scenario under linux-6.12: kernel-warn from ext4_dirty_folio only, the writeback skip is no WARN, the run goes on; no lost-write since the skipped page holds what storage has', () => {
    const sites: string[] = [];
    const r = runScenario(scenario('linux-6.12'), { policy: 'linux-6.12', trace: (e) => { if (e.type === 'kernel_warn') sites.push(e.site); } });
    const kinds = r.violations.map((v) => v.kind);
    expect(kinds).toContain('kernel-warn');
    expect(kinds).not.toContain('lost-write');
    expect(kinds).not.toContain('kernel-bug');
    expect(sites).toEqual(['fs/ext4/inode.c:ext4_dirty_folio']);
    expect(r.results['app.6']).toBe('ok');
    expect(r.results['after']).toBe('ok');
    expect(r.observed['storage:f@0']).toBe('old');
  });
});
