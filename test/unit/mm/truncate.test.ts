import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { filemap_get_folio } from '../../../src/mm/filemap.js';
import { get_user_pages_unlocked } from '../../../src/mm/gup.js';
import { do_punch_hole } from '../../../src/mm/fs/read_write.js';
import { do_mmap } from '../../../src/mm/mmap.js';
import type { KernelPolicy } from '../../../src/mm/policy_ops.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { do_truncate } from '../../../src/mm/truncate.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_WRITE, PG_dirty, PG_private } from '../../../src/mm/types.js';
import { linux_6_12 } from '../../../src/policy/linux-6.12.js';
import { makeKernel, PAGE } from '../../helpers/kernel.js';
import { pagesOfType } from '../../helpers/pages.js';

function setup(era: '4.20' | '6.12' = '4.20') {
  const t = makeKernel(era);
  const p = t.k.create_process('p');
  const f = t.k.create_inode('f', 'ext4', false, 4 * PAGE);
  const a = t.run(do_mmap(t.k, p.mm, { addr: null, length: 4 * PAGE, prot: 'rw', shared: true, private: false, fixed: false, populate: false, file: f, offset: 0 }, 'x')) as number;
  const tok = t.k.new_content('s');
  t.run(cpu_access(t.k, p.mm, a, 4 * PAGE, tok));
  return { t, p, f, a, tok };
}

describe('truncate of a page-cache file (mm/truncate.c)', () => {
  it('a store through a shared ext4 mapping goes through page_mkwrite: buffers attached and the folio dirty', () => {
    const { t, f } = setup();
    const pfn = filemap_get_folio(f.i_mapping, 0);
    expect(t.k.mem.flags[pfn]! & PG_private).toBeTruthy();
    expect(t.k.mem.flags[pfn]! & PG_dirty).toBeTruthy();
  });

  it('removes unreferenced folios beyond the new EOF, frees them and drops the blocks from storage', () => {
    const { t, f } = setup();
    f.storage.set(3, 42);
    const pfn3 = filemap_get_folio(f.i_mapping, 3);
    expect(t.run(do_truncate(t.k, f, 2 * PAGE))).toBe(0);
    expect(f.i_size).toBe(2 * PAGE);
    expect(filemap_get_folio(f.i_mapping, 3)).toBe(-1);
    expect(filemap_get_folio(f.i_mapping, 1)).toBeGreaterThan(0);
    expect(t.k.mem.free[pfn3]).toBe(1);
    expect(f.storage.has(3)).toBe(false);
  });

  it('orphans a folio a long-term FOLL_GET reference holds: out of the page cache, unmapped, alive, mapping NULL', () => {
    const { t, p, f, a } = setup('4.20');
    const ref = t.run(get_user_pages_unlocked(t.k, p.mm, a, 1, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE, 'nic0')) as DmaRef;
    const pfn = ref.pfns[0] as number;
    expect(t.run(do_truncate(t.k, f, 0))).toBe(0);
    expect(filemap_get_folio(f.i_mapping, 0)).toBe(-1);
    expect(t.k.mem.free[pfn]).toBe(0);
    expect(t.k.mem.mapping[pfn]).toBe(0);
    expect(t.k.mem._mapcount[pfn]).toBe(0);
    expect(t.k.mem._refcount[pfn]).toBe(1); // only the FOLL_GET reference is left
    expect(t.k.mem.flags[pfn]! & PG_private).toBe(0); // buffers invalidated
    const rm = pagesOfType(t.events, 'filemap_remove').find((e) => e.pfn === pfn);
    expect(rm?.refcount).toBe(1);
  });

  it('unmaps every mapping first (MMU_NOTIFY_CLEAR), then removes pages, and never blocks on the reference', () => {
    const { t, p, f, a } = setup('4.20');
    t.run(get_user_pages_unlocked(t.k, p.mm, a, 4, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE, 'nic0'));
    const before = t.events.length;
    t.run(do_truncate(t.k, f, 0));
    const evs = t.events.slice(before).map((e) => e.type);
    const firstStart = evs.indexOf('notifier_start'), firstClear = evs.indexOf('pte_clear'), firstRemove = evs.indexOf('filemap_remove');
    expect(firstStart).toBeGreaterThanOrEqual(0);
    expect(firstStart).toBeLessThan(firstClear);
    expect(firstClear).toBeLessThan(firstRemove);
    const ns = t.events.find((e) => e.type === 'notifier_start' && e.time >= 0 && e.event === 'MMU_NOTIFY_CLEAR');
    expect(ns).toBeDefined();
    expect(p.mm.pgtable.count).toBe(0);
  });

  it('a load beyond the new EOF faults SIGBUS, below it sees the data', () => {
    const { t, p, f, a, tok } = setup();
    t.run(do_truncate(t.k, f, PAGE));
    expect(t.run(cpu_access(t.k, p.mm, a + 2 * PAGE, 1, -1)).signal).toBe('SIGBUS');
    const r = t.run(cpu_access(t.k, p.mm, a, 1, -1));
    expect(r.signal).toBe('');
    expect(r.tokens).toEqual([tok]);
  });

  it('extending the file changes only i_size', () => {
    const { t, f } = setup();
    const cached = f.i_mapping.i_pages.count;
    t.run(do_truncate(t.k, f, 8 * PAGE));
    expect(f.i_size).toBe(8 * PAGE);
    expect(f.i_mapping.i_pages.count).toBe(cached);
  });
});

describe('truncate and punch-hole share one sequence', () => {
  /** The event types of @f's truncate at 2 pages (or a hole over pages 2..3), from a fresh setup. */
  function sequence(how: 'truncate' | 'punch_hole'): { types: string[]; reasons: string[] } {
    const { t, f } = setup('6.12');
    const before = t.events.length;
    const ret = how === 'truncate' ? t.run(do_truncate(t.k, f, 2 * PAGE)) : t.run(do_punch_hole(t.k, f, 2 * PAGE, 2 * PAGE));
    expect(ret).toBe(0);
    expect(f.storage.has(2) || f.storage.has(3)).toBe(false);
    const evs = t.events.slice(before);
    return {
      types: evs.map((e) => e.type).filter((x) => x !== 'i_size'),
      reasons: pagesOfType(evs, 'filemap_remove').map((e) => e.reason),
    };
  }

  it('the same unmap → remove → unmap steps, in the same order; only the i_size change and the reason differ', () => {
    const tr = sequence('truncate'), ph = sequence('punch_hole');
    expect(tr.types).toEqual(ph.types);
    expect(tr.types.indexOf('notifier_start')).toBeLessThan(tr.types.indexOf('filemap_remove'));
    // Both folios go in one folio batch: one filemap_remove of the two.
    expect(tr.types.filter((x) => x === 'filemap_remove')).toHaveLength(1);
    expect(tr.reasons).toEqual(['truncate', 'truncate']);
    expect(ph.reasons).toEqual(['punch_hole', 'punch_hole']);
  });

  it('a policy hook refusing the range stops both before anything changes (layout-lease style)', () => {
    const refuse: KernelPolicy = { ...linux_6_12, name: 'refuse', ops: { *truncate_pinned_range() { return 'ETXTBSY'; } } };
    for (const how of ['truncate', 'punch_hole'] as const) {
      const t = makeKernel(refuse);
      const f = t.k.create_inode('f', 'ext4', false, 4 * PAGE);
      f.storage.set(3, 7);
      const before = t.events.length;
      const ret = how === 'truncate' ? t.run(do_truncate(t.k, f, 0)) : t.run(do_punch_hole(t.k, f, 0, 4 * PAGE));
      expect(ret).toBe('ETXTBSY');
      expect(f.i_size).toBe(4 * PAGE);
      expect(f.storage.get(3)).toBe(7);
      expect(t.events.slice(before).map((e) => e.type)).toEqual([]);
    }
  });
});
