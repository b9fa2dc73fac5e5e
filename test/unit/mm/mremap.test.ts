import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { get_user_pages_unlocked } from '../../../src/mm/gup.js';
import { do_mmap, type MmapArgs } from '../../../src/mm/mmap.js';
import { do_mremap, type MremapArgs } from '../../../src/mm/mremap.js';
import { find_vma, pte_pfn, pte_present, type MmStruct } from '../../../src/mm/mm_types.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import type { MmEventOf } from '../../../src/mm/trace_events.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_WRITE } from '../../../src/mm/types.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

const anon = (length: number, o: Partial<MmapArgs> = {}): MmapArgs => ({
  addr: null, length, prot: 'rw', shared: false, private: true, fixed: false, populate: true, file: null, offset: 0, ...o,
});
const args = (addr: number, old_len: number, new_len: number, o: Partial<MremapArgs> = {}): MremapArgs => ({
  addr, old_len, new_len, maymove: false, fixed: false, new_addr: null, ...o,
});

/** The pfn each PTE of [addr, addr + n pages) maps (-1 where there is no present PTE). */
function pfnsAt(mm: MmStruct, addr: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const pte = mm.pgtable.get(addr / PAGE + i);
    out.push(pte_present(pte) ? pte_pfn(pte) : -1);
  }
  return out;
}

/** A process with a populated, written anonymous mapping of @pages pages. */
function setup(pages = 4, era: '4.20' | '6.12' = '6.12') {
  const t = makeKernel(era);
  const mm = t.k.create_process('p').mm;
  const a = t.run(do_mmap(t.k, mm, anon(pages * PAGE), '')) as number;
  const tok = t.k.new_content('s1');
  expect(t.run(cpu_access(t.k, mm, a, pages * PAGE, tok)).signal).toBe('');
  return { t, mm, a, tok, pfns: pfnsAt(mm, a, pages) };
}

const notifierStarts = (t: TestKernel, from: number) =>
  t.events.slice(from).filter((e): e is MmEventOf<'notifier_start'> => e.type === 'notifier_start');

describe('mremap errnos (mm/mremap.c do_mremap)', () => {
  it('returns EINVAL for an unaligned old address and changes nothing', () => {
    const { t, mm, a, pfns } = setup();
    const n = t.events.length;
    expect(t.run(do_mremap(t.k, mm, args(a + 1, 4 * PAGE, 8 * PAGE, { maymove: true })))).toBe('EINVAL');
    expect(pfnsAt(mm, a, 4)).toEqual(pfns);
    expect(notifierStarts(t, n)).toHaveLength(0);
  });

  it('returns EINVAL for a new length of 0', () => {
    const { t, mm, a, pfns } = setup();
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 0)))).toBe('EINVAL');
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 0, { maymove: true })))).toBe('EINVAL');
    expect(find_vma(mm, a)?.vm_end).toBe(a + 4 * PAGE);
    expect(pfnsAt(mm, a, 4)).toEqual(pfns);
  });

  it('returns EINVAL for MREMAP_FIXED without MREMAP_MAYMOVE, leaving source and destination alone', () => {
    const { t, mm, a, pfns } = setup();
    const dst = t.run(do_mmap(t.k, mm, anon(4 * PAGE), '')) as number;
    const dstPfns = pfnsAt(mm, dst, 4);
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { fixed: true, new_addr: dst })))).toBe('EINVAL');
    expect(pfnsAt(mm, a, 4)).toEqual(pfns);
    expect(pfnsAt(mm, dst, 4)).toEqual(dstPfns);
  });

  it('returns EINVAL for an unaligned MREMAP_FIXED destination', () => {
    const { t, mm, a, pfns } = setup();
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove: true, fixed: true, new_addr: 0x10000800 })))).toBe('EINVAL');
    expect(pfnsAt(mm, a, 4)).toEqual(pfns);
    expect(find_vma(mm, 0x10000000)).toBeNull();
  });

  it('returns EINVAL for an MREMAP_FIXED destination overlapping the old range, without unmapping anything', () => {
    const { t, mm, a, pfns } = setup();
    const n = t.events.length;
    // [a + 2p, a + 6p) overlaps [a, a + 4p); so does [a - 2p, a + 2p).
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove: true, fixed: true, new_addr: a + 2 * PAGE })))).toBe('EINVAL');
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove: true, fixed: true, new_addr: a - 2 * PAGE })))).toBe('EINVAL');
    expect(pfnsAt(mm, a, 4)).toEqual(pfns);
    expect(notifierStarts(t, n)).toHaveLength(0);
  });

  it('returns EFAULT when no VMA contains the old address', () => {
    const { t, mm } = setup();
    const hole = 0x10000000;
    expect(t.run(do_mremap(t.k, mm, args(hole, PAGE, 2 * PAGE)))).toBe('EFAULT');
    expect(t.run(do_mremap(t.k, mm, args(hole, PAGE, 2 * PAGE, { maymove: true })))).toBe('EFAULT');
    expect(t.run(do_mremap(t.k, mm, args(hole, PAGE, PAGE, { maymove: true, fixed: true, new_addr: 0x20000000 })))).toBe('EFAULT');
    expect(find_vma(mm, 0x20000000)).toBeNull();
  });

  it('returns EFAULT when the old range runs past the end of its VMA', () => {
    const { t, mm, a, pfns } = setup(2);
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 8 * PAGE, { maymove: true })))).toBe('EFAULT');
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove: true, fixed: true, new_addr: 0x10000000 })))).toBe('EFAULT');
    expect(pfnsAt(mm, a, 2)).toEqual(pfns);
    expect(find_vma(mm, a)?.vm_end).toBe(a + 2 * PAGE);
  });

  it('returns ENOMEM when growing in place is blocked by the next VMA and MREMAP_MAYMOVE is not given', () => {
    const { t, mm, a } = setup(2); // a = MMAP_BASE - 2p
    const b = t.run(do_mmap(t.k, mm, anon(2 * PAGE), '')) as number; // just below a
    expect(b + 2 * PAGE).toBe(a);
    const bPfns = pfnsAt(mm, b, 2);
    const n = t.events.length;
    expect(t.run(do_mremap(t.k, mm, args(b, 2 * PAGE, 4 * PAGE)))).toBe('ENOMEM');
    expect(find_vma(mm, b)?.vm_end).toBe(a);
    expect(pfnsAt(mm, b, 2)).toEqual(bPfns);
    expect(notifierStarts(t, n)).toHaveLength(0);
  });
});

describe('mremap without moving', () => {
  it.each([false, true])('a same-size mremap without MREMAP_FIXED (maymove %s) returns the same address, fires no notifier and moves nothing', (maymove) => {
    const { t, mm, a, pfns } = setup();
    const n = t.events.length;
    const rc = pfns.map((p) => t.k.mem._refcount[p]);
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove })))).toBe(a);
    const evs = t.events.slice(n).map((e) => e.type);
    expect(evs).not.toContain('notifier_start');
    expect(evs).not.toContain('pte_clear');
    expect(evs).not.toContain('pte_set');
    expect(evs).not.toContain('vma');
    expect(pfnsAt(mm, a, 4)).toEqual(pfns);
    expect(pfns.map((p) => t.k.mem._refcount[p])).toEqual(rc);
  });

  it('shrinking unmaps the tail under MMU_NOTIFY_UNMAP and frees its unreferenced pages, keeping the head', () => {
    const { t, mm, a, pfns } = setup();
    const n = t.events.length;
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 2 * PAGE)))).toBe(a);
    expect(find_vma(mm, a)).toMatchObject({ vm_start: a, vm_end: a + 2 * PAGE });
    expect(find_vma(mm, a + 2 * PAGE)).toBeNull();
    expect(pfnsAt(mm, a, 4)).toEqual([pfns[0], pfns[1], -1, -1]);
    expect(t.k.mem.free[pfns[2]!]).toBe(1);
    expect(t.k.mem.free[pfns[3]!]).toBe(1);
    expect(t.k.mem.free[pfns[0]!]).toBe(0);
    expect(notifierStarts(t, n).map((e) => [e.event, e.start, e.end])).toEqual([['MMU_NOTIFY_UNMAP', a + 2 * PAGE, a + 4 * PAGE]]);
  });

  it('grows in place when the space after the VMA is free: same address, same pages, no notifier, the new part faults in', () => {
    const { t, mm, a, pfns, tok } = setup(2); // the topmost mapping: nothing above it up to TASK_SIZE
    const n = t.events.length;
    expect(t.run(do_mremap(t.k, mm, args(a, 2 * PAGE, 4 * PAGE)))).toBe(a);
    expect(find_vma(mm, a)).toMatchObject({ vm_start: a, vm_end: a + 4 * PAGE });
    expect(pfnsAt(mm, a, 4)).toEqual([pfns[0], pfns[1], -1, -1]);
    expect(notifierStarts(t, n)).toHaveLength(0);
    const r = t.run(cpu_access(t.k, mm, a, 4 * PAGE, -1));
    expect(r.signal).toBe('');
    expect(r.tokens).toEqual([tok, tok, 0, 0]);
  });
});

describe('mremap move (move_vma, move_page_tables)', () => {
  it('MREMAP_MAYMOVE moves the same pfns to the new address with unchanged refcounts and mapcounts, under MMU_NOTIFY_UNMAP of the old range', () => {
    const { t, mm, a, tok } = setup(2);
    const b = t.run(do_mmap(t.k, mm, anon(2 * PAGE), '')) as number; // growing b in place would hit a
    t.run(cpu_access(t.k, mm, b, 2 * PAGE, tok));
    const bPfns = pfnsAt(mm, b, 2);
    const rc = bPfns.map((p) => t.k.mem._refcount[p]);
    const mc = bPfns.map((p) => t.k.mem._mapcount[p]);
    const n = t.events.length;
    const nb = t.run(do_mremap(t.k, mm, args(b, 2 * PAGE, 4 * PAGE, { maymove: true }))) as number;
    expect(typeof nb).toBe('number');
    expect(nb).not.toBe(b);
    expect(nb + 4 * PAGE <= b || nb >= a + 2 * PAGE).toBe(true);
    expect(pfnsAt(mm, nb, 4)).toEqual([bPfns[0], bPfns[1], -1, -1]);
    expect(bPfns.map((p) => t.k.mem._refcount[p])).toEqual(rc);
    expect(bPfns.map((p) => t.k.mem._mapcount[p])).toEqual(mc);
    expect(bPfns.map((p) => t.k.mem.free[p])).toEqual([0, 0]);
    // The old range: no PTEs, no VMA.
    expect(pfnsAt(mm, b, 2)).toEqual([-1, -1]);
    expect(find_vma(mm, b)).toBeNull();
    expect(find_vma(mm, nb)).toMatchObject({ vm_start: nb, vm_end: nb + 4 * PAGE });
    const starts = notifierStarts(t, n);
    expect(starts.length).toBeGreaterThanOrEqual(1);
    expect(starts.every((e) => e.event === 'MMU_NOTIFY_UNMAP' && e.start === b && e.end === b + 2 * PAGE)).toBe(true);
    // The CPU sees its data at the new address.
    expect(t.run(cpu_access(t.k, mm, nb, 2 * PAGE, -1)).tokens).toEqual([tok, tok]);
  });

  it('a page a long-term FOLL_GET reference holds moves with its PTE: the reference still reaches the frame now mapped at the new address', () => {
    const { t, mm, a } = setup(2, '4.20');
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 2, FOLL_GET | FOLL_LONGTERM | FOLL_WRITE, 'nic0')) as DmaRef;
    const dst = 0x10000000;
    const rc = ref.pfns.map((p) => t.k.mem._refcount[p]);
    expect(t.run(do_mremap(t.k, mm, args(a, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true, new_addr: dst })))).toBe(dst);
    expect(pfnsAt(mm, dst, 2)).toEqual(ref.pfns);
    expect(ref.pfns.map((p) => t.k.mem._refcount[p])).toEqual(rc);
    expect(pfnsAt(mm, a, 2)).toEqual([-1, -1]);
    expect(find_vma(mm, a)).toBeNull();
  });

  it('MREMAP_FIXED unmaps whatever was at the destination first (its unreferenced pages freed), then moves the source there', () => {
    const { t, mm, a, pfns } = setup(2);
    const dst = t.run(do_mmap(t.k, mm, anon(2 * PAGE, { fixed: true, addr: 0x10000000 }), '')) as number;
    t.run(cpu_access(t.k, mm, dst, 2 * PAGE, t.k.new_content('old-dst')));
    const dstPfns = pfnsAt(mm, dst, 2);
    const n = t.events.length;
    expect(t.run(do_mremap(t.k, mm, args(a, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true, new_addr: dst })))).toBe(dst);
    expect(dstPfns.map((p) => t.k.mem.free[p])).toEqual([1, 1]);
    expect(pfnsAt(mm, dst, 2)).toEqual(pfns);
    expect(mm.vmas.map((v) => [v.vm_start, v.vm_end])).toEqual([[dst, dst + 2 * PAGE]]);
    const starts = notifierStarts(t, n);
    // The destination's unmap comes first, then the move's UNMAP of the old range.
    expect(starts[0]).toMatchObject({ event: 'MMU_NOTIFY_UNMAP', start: dst, end: dst + 2 * PAGE });
    expect(starts.slice(1).every((e) => e.start === a && e.end === a + 2 * PAGE)).toBe(true);
    expect(starts.length).toBeGreaterThanOrEqual(2);
    const firstDstFree = t.events.findIndex((e, i) => i >= n && e.type === 'folio_free' && e.pfns.includes(dstPfns[0]!));
    const firstMove = t.events.findIndex((e, i) => i >= n && e.type === 'pte_set' && e.va === dst);
    expect(firstDstFree).toBeGreaterThan(0);
    expect(firstDstFree).toBeLessThan(firstMove);
  });

  it('MREMAP_FIXED with a shorter new length unmaps the old tail and moves only the head', () => {
    const { t, mm, a, pfns } = setup(4);
    const dst = 0x10000000;
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 2 * PAGE, { maymove: true, fixed: true, new_addr: dst })))).toBe(dst);
    expect(pfnsAt(mm, dst, 2)).toEqual([pfns[0], pfns[1]]);
    expect([t.k.mem.free[pfns[2]!], t.k.mem.free[pfns[3]!]]).toEqual([1, 1]);
    expect(mm.vmas.map((v) => [v.vm_start, v.vm_end])).toEqual([[dst, dst + 2 * PAGE]]);
  });

  it('a moved shared file mapping keeps its file offset (vm_pgoff) and stays in the file\'s i_mmap', () => {
    const t = makeKernel('6.12');
    const mm = t.k.create_process('p').mm;
    const f = t.k.create_inode('f', 'ext4', false, 8 * PAGE);
    const a = t.run(do_mmap(t.k, mm, { ...anon(4 * PAGE, { populate: false }), shared: true, private: false, file: f, offset: 2 * PAGE }, '')) as number;
    const dst = 0x10000000;
    expect(t.run(do_mremap(t.k, mm, args(a + PAGE, 2 * PAGE, 2 * PAGE, { maymove: true, fixed: true, new_addr: dst })))).toBe(dst);
    const v = find_vma(mm, dst)!;
    expect(v.vm_pgoff).toBe(3);
    expect(f.i_mapping.i_mmap.has(v)).toBe(true);
    expect([...f.i_mapping.i_mmap].some((x) => x.vm_start <= a + PAGE && x.vm_end > a + PAGE)).toBe(false);
  });
});

describe('MREMAP_DONTUNMAP (5.7)', () => {
  function mapped(era: '5.6' | '5.7' | '5.12' | '5.13' | '6.12', file = false) {
    const t = makeKernel(era);
    const p = t.k.create_process('p');
    const f = file ? t.k.create_inode('f', 'ext4', false, 4 * PAGE) : null;
    const a = t.run(do_mmap(t.k, p.mm, anon(4 * PAGE, { file: f }), '')) as number;
    const tok = t.k.new_content('s1');
    t.run(cpu_access(t.k, p.mm, a, 4 * PAGE, tok));
    return { t, mm: p.mm, a, tok, pfns: pfnsAt(p.mm, a, 4) };
  }

  it('moves the pages to a new address and leaves the old range mapped and empty; one UNMAP of the old range, no second unmap', () => {
    const { t, mm, a, tok, pfns } = mapped('6.12');
    const n = t.events.length;
    const na = t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove: true, dontunmap: true }))) as number;
    expect(na).not.toBe(a);
    expect(pfnsAt(mm, na, 4)).toEqual(pfns);
    expect(pfnsAt(mm, a, 4)).toEqual([-1, -1, -1, -1]);
    expect(find_vma(mm, a)).not.toBeNull();
    expect(notifierStarts(t, n).map((e) => [e.event, e.start])).toEqual([['MMU_NOTIFY_UNMAP', a]]);
    // The old range re-faults a new zero page; the new one has the data.
    expect(t.run(cpu_access(t.k, mm, a, PAGE, -1)).tokens).toEqual([0]);
    expect(t.run(cpu_access(t.k, mm, na, PAGE, -1)).tokens).toEqual([tok]);
  });

  it('is EINVAL before 5.7, without MREMAP_MAYMOVE, or with a different length', () => {
    const old = mapped('5.6');
    expect(old.t.run(do_mremap(old.t.k, old.mm, args(old.a, 4 * PAGE, 4 * PAGE, { maymove: true, dontunmap: true })))).toBe('EINVAL');
    const { t, mm, a } = mapped('6.12');
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { dontunmap: true })))).toBe('EINVAL');
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 8 * PAGE, { maymove: true, dontunmap: true })))).toBe('EINVAL');
  });

  it('a file mapping: EINVAL in 5.7–5.12 (private anonymous VMAs only), moved from 5.13', () => {
    for (const [era, ok] of [['5.7', false], ['5.12', false], ['5.13', true]] as const) {
      const { t, mm, a } = mapped(era, true);
      const r = t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove: true, dontunmap: true })));
      expect(typeof r === 'number', `linux-${era}`).toBe(ok);
    }
  });

  it('with MREMAP_FIXED it moves to the given address, unmapping what was there', () => {
    const { t, mm, a, pfns } = mapped('6.12');
    const dst = 0x20000000;
    expect(t.run(do_mremap(t.k, mm, args(a, 4 * PAGE, 4 * PAGE, { maymove: true, fixed: true, dontunmap: true, new_addr: dst })))).toBe(dst);
    expect(pfnsAt(mm, dst, 4)).toEqual(pfns);
  });
});
