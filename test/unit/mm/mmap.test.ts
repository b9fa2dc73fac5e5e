import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { get_user_pages_unlocked } from '../../../src/mm/gup.js';
import { do_madvise } from '../../../src/mm/madvise.js';
import { do_mmap, do_munmap, MMAP_BASE, type MmapArgs } from '../../../src/mm/mmap.js';
import { pte_pfn, pte_write } from '../../../src/mm/mm_types.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_WRITE, ZERO_PFN } from '../../../src/mm/types.js';
import { makeKernel, PAGE } from '../../helpers/kernel.js';

const anon = (length: number, o: Partial<MmapArgs> = {}): MmapArgs => ({
  addr: null, length, prot: 'rw', shared: false, private: true, fixed: false, populate: false, file: null, offset: 0, ...o,
});

describe('mmap and munmap (mm/mmap.c, mm/vma.c)', () => {
  it('places mappings top-down from 0x7f0000000000, first fit', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(2 * PAGE), ''));
    const b = t.run(do_mmap(t.k, mm, anon(PAGE), ''));
    expect(a).toBe(MMAP_BASE - 2 * PAGE);
    expect(b).toBe(MMAP_BASE - 3 * PAGE);
    t.run(do_munmap(t.k, mm, a as number, 2 * PAGE));
    expect(t.run(do_mmap(t.k, mm, anon(PAGE), ''))).toBe(MMAP_BASE - PAGE);
  });

  it('returns EINVAL for length 0, both or neither of shared/private, an unaligned offset or fixed address', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    expect(t.run(do_mmap(t.k, mm, anon(0), ''))).toBe('EINVAL');
    expect(t.run(do_mmap(t.k, mm, anon(PAGE, { shared: true }), ''))).toBe('EINVAL');
    expect(t.run(do_mmap(t.k, mm, anon(PAGE, { private: false }), ''))).toBe('EINVAL');
    expect(t.run(do_mmap(t.k, mm, anon(PAGE, { offset: 100 }), ''))).toBe('EINVAL');
    expect(t.run(do_mmap(t.k, mm, anon(PAGE, { fixed: true, addr: 0x10000001 }), ''))).toBe('EINVAL');
  });

  it('munmap returns EINVAL for length 0 or an unaligned start, and 0 for a range with nothing mapped', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    expect(t.run(do_munmap(t.k, mm, 0x10000000, 0))).toBe('EINVAL');
    expect(t.run(do_munmap(t.k, mm, 0x10000001, PAGE))).toBe('EINVAL');
    expect(t.run(do_munmap(t.k, mm, 0x10000000, PAGE))).toBe(0);
  });

  it('munmap frees unreferenced anonymous pages under one MMU_NOTIFY_UNMAP range, but a page with a DMA reference survives', () => {
    const t = makeKernel('4.20');
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(2 * PAGE, { populate: true }), '')) as number;
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 1, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE, 'nic0')) as DmaRef;
    const pinned = ref.pfns[0] as number;
    const other = pte_pfn(mm.pgtable.get((a + PAGE) / PAGE));
    t.run(do_munmap(t.k, mm, a, 2 * PAGE));
    expect(t.events.filter((e) => e.type === 'notifier_start' && e.event === 'MMU_NOTIFY_UNMAP')).toHaveLength(1);
    expect(t.k.mem.free[other]).toBe(1);
    expect(t.k.mem.free[pinned]).toBe(0);
    expect(t.k.mem._refcount[pinned]).toBe(1);
    expect(mm.vmas).toHaveLength(0);
  });

  it('MAP_FIXED over an existing mapping unmaps it first', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(2 * PAGE, { populate: true }), '')) as number;
    expect(t.run(do_mmap(t.k, mm, anon(PAGE, { fixed: true, addr: a }), ''))).toBe(a);
    expect(mm.vmas.map((v) => [v.vm_start, v.vm_end])).toEqual([[a, a + PAGE], [a + PAGE, a + 2 * PAGE]]);
    expect(mm.pgtable.get(a / PAGE)).toBe(0);
  });
});

describe('faults (mm/memory.c)', () => {
  it('an anonymous read maps the zero page; the next write breaks COW into a new writable page', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(PAGE), '')) as number;
    expect(t.run(cpu_access(t.k, mm, a, 1, -1)).tokens).toEqual([0]);
    expect(pte_pfn(mm.pgtable.get(a / PAGE))).toBe(ZERO_PFN);
    t.run(cpu_access(t.k, mm, a, 1, t.k.new_content('w')));
    const pte = mm.pgtable.get(a / PAGE);
    expect(pte_pfn(pte)).not.toBe(ZERO_PFN);
    expect(pte_write(pte)).toBe(true);
  });

  it('a store to a read-only mapping or an unmapped address is SIGSEGV', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(PAGE, { prot: 'r' }), '')) as number;
    expect(t.run(cpu_access(t.k, mm, a, 1, 5)).signal).toBe('SIGSEGV');
    expect(t.run(cpu_access(t.k, mm, 0x1000, 1, -1)).signal).toBe('SIGSEGV');
  });

  it('running out of kernel.memory makes the fault fail (SIGBUS-class), not pinsim', () => {
    const t = makeKernel('6.12', 2 * PAGE);
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(4 * PAGE), '')) as number;
    expect(t.run(cpu_access(t.k, mm, a, 4 * PAGE, 7)).signal).not.toBe('');
  });
});

describe('madvise(MADV_DONTNEED) (mm/madvise.c)', () => {
  it('zaps anonymous pages (freed unless referenced) and the next touch sees a fresh zero page', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(PAGE), '')) as number;
    t.run(cpu_access(t.k, mm, a, 1, t.k.new_content('x')));
    const old = pte_pfn(mm.pgtable.get(a / PAGE));
    expect(t.run(do_madvise(t.k, mm, a, PAGE, 'dontneed'))).toBe(0);
    expect(t.k.mem.free[old]).toBe(1);
    expect(t.run(cpu_access(t.k, mm, a, 1, -1)).tokens).toEqual([0]);
  });

  it('returns EINVAL for an unaligned start, ENOMEM over a hole, and 0 for length 0', () => {
    const t = makeKernel();
    const mm = t.k.create_process('p').mm;
    const a = t.run(do_mmap(t.k, mm, anon(PAGE), '')) as number;
    expect(t.run(do_madvise(t.k, mm, a + 1, PAGE, 'dontneed'))).toBe('EINVAL');
    expect(t.run(do_madvise(t.k, mm, a, 0, 'dontneed'))).toBe(0);
    expect(t.run(do_madvise(t.k, mm, a, 2 * PAGE, 'dontneed'))).toBe('ENOMEM');
  });
});
