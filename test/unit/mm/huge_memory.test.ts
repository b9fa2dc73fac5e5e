/**
 * Anonymous THP per era: the PMD fault and its fallback, the huge zero page, split_huge_pmd on a
 * partial munmap / mprotect / MADV_DONTNEED / mremap (one MMU_NOTIFY_CLEAR over the 2 MiB), COW and
 * fork of a pinned THP, FOLL_LONGTERM out of ZONE_MOVABLE, partial MADV_FREE splitting, MADV_COLLAPSE
 * and khugepaged.
 */
import { describe, expect, it } from 'vitest';
import { eraRunner, kinds, of } from '../policy/era-fixtures.js';

const BUF = '0x40000000';
const mmap2M = (len = '2M', extra: Record<string, unknown> = {}) => ({ op: 'mmap', addr: BUF, length: len, prot: 'rw', flags: ['private', 'fixed'], as: 'buf', ...extra });

/** A scenario with kernel.thp @thp (default always) running @ops in `app`. */
function thp(ops: Record<string, unknown>[], kernel: Record<string, unknown> = {}, devices: Record<string, unknown> = {}) {
  return { name: 'thp', kernel: { memory: '64M', thp: 'always', ...kernel }, devices, actors: { app: ops } };
}

const NIC = { nic0: { model: 'gup-nic' } };

describe('the THP fault', () => {
  it('a write fault in an eligible VMA maps a 2 MiB folio by its PMD; a read fault the huge zero page', () => {
    const { r, evs } = eraRunner('linux-6.12')(thp([
      mmap2M('4M'), { op: 'store', addr: 'buf', length: '4K', as: 's' }, { op: 'pagemap', addr: 'buf', offset: '1M', as: 'pm' },
      { op: 'load', addr: 'buf', offset: '2M', length: '4K', as: 'l' }, { op: 'pagemap', addr: 'buf', offset: '2M', as: 'pz' },
    ]));
    expect(r.observed).toMatchObject({ pm: 'pmd', pz: 'pmd', l: 'zero' });
    expect(r.ops['pm']).toMatchObject({ order: 9 });
    expect(of(evs, 'folio_alloc').map((e) => e.nr)).toEqual([512]);
    expect(of(evs, 'pte_set').map((e) => [e.nr ?? 0, e.zero ?? 0])).toEqual([[512, 0], [0, 512]]);
  });

  it('kernel.thp "madvise" (the default) maps 4 KiB pages until MADV_HUGEPAGE; "never" always does; MADV_NOHUGEPAGE wins over "always"', () => {
    const ops = (advice: string | null) => [
      mmap2M(), ...(advice ? [{ op: 'madvise', addr: 'buf', length: '2M', advice, as: 'adv' }] : []),
      { op: 'store', addr: 'buf', length: '4K', as: 's' }, { op: 'pagemap', addr: 'buf', as: 'pm' },
    ];
    const run = eraRunner('linux-6.12');
    expect(run(thp(ops(null), { thp: 'madvise' })).r.observed['pm']).toBe('pte');
    expect(run(thp(ops('hugepage'), { thp: 'madvise' })).r.observed['pm']).toBe('pmd');
    expect(run(thp(ops('hugepage'), { thp: 'never' })).r.observed['pm']).toBe('pte');
    expect(run(thp(ops('nohugepage'), { thp: 'always' })).r.observed['pm']).toBe('pte');
  });

  it('a range the VMA does not cover whole, or with no aligned free block of 512 frames, falls back to 4 KiB pages', () => {
    const run = eraRunner('linux-6.12');
    expect(run(thp([mmap2M('1M'), { op: 'store', addr: 'buf', length: '4K', as: 's' }, { op: 'pagemap', addr: 'buf', as: 'pm' }])).r.observed['pm']).toBe('pte');
    const { r, evs } = run(thp([mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' }, { op: 'pagemap', addr: 'buf', as: 'pm' }], { memory: '1M' }));
    expect([r.observed['pm'], r.ops['pm']?.['order']]).toEqual(['pte', 0]);
    expect(of(evs, 'thp_fault_fallback')).toHaveLength(1);
  });
});

describe('split_huge_pmd: an operation on part of a PMD', () => {
  const partial = (op: Record<string, unknown>) => thp([
    mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' }, op, { op: 'pagemap', addr: 'buf', as: 'pm' },
  ]);
  for (const [what, op] of [
    ['munmap', { op: 'munmap', addr: 'buf', offset: '1M', length: '4K', as: 'x' }],
    ['mprotect', { op: 'mprotect', addr: 'buf', offset: '1M', length: '8K', prot: 'r', as: 'x' }],
    ['MADV_DONTNEED', { op: 'madvise', addr: 'buf', offset: '4K', length: '4K', advice: 'dontneed', as: 'x' }],
  ] as const) {
    it(`${what} of 4 KiB splits the PMD under one MMU_NOTIFY_CLEAR over the whole 2 MiB; the folio stays large, PTE-mapped`, () => {
      const { r, evs } = eraRunner('linux-6.12')(partial(op));
      expect([r.observed['pm'], r.ops['pm']?.['order']]).toEqual(['pte', 9]);
      const split = of(evs, 'thp_split_pmd');
      expect(split).toHaveLength(1);
      const clear = of(evs, 'notifier_start').find((e) => e.event === 'MMU_NOTIFY_CLEAR');
      expect([clear?.start, clear?.end]).toEqual([0x40000000, 0x40200000]);
      expect(r.violations).toEqual([]);
    });
  }

  it('an operation on the whole 2 MiB does not split: munmap zaps the PMD whole and frees the folio', () => {
    const { r, evs } = eraRunner('linux-6.12')(thp([mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' }, { op: 'munmap', addr: 'buf', length: '2M', as: 'x' }]));
    expect(of(evs, 'thp_split_pmd')).toEqual([]);
    expect(of(evs, 'folio_free').flatMap((e) => [...(e.nrs ?? [])])).toEqual([512]);
    expect(r.violations).toEqual([]);
  });

  it('mremap moves a PMD whole to a 2 MiB-aligned place, and splits it for any other', () => {
    const mv = (to: string) => eraRunner('linux-6.12')(thp([
      mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' },
      { op: 'mremap', addr: 'buf', length: '2M', newLength: '2M', flags: ['maymove', 'fixed'], newAddr: to, as: 'nb' },
      { op: 'pagemap', addr: 'nb', as: 'pm' }, { op: 'load', addr: 'nb', length: '4K', as: 'l' },
    ]));
    expect(mv('0x80000000').r.observed).toMatchObject({ pm: 'pmd', l: 's' });
    expect(mv('0x80001000').r.observed).toMatchObject({ pm: 'pte', l: 's' });
  });

  it('MREMAP_DONTUNMAP moves a PMD whole to a 2 MiB-aligned place (split for any other); the old range stays mapped, empty', () => {
    const mv = (to: string) => eraRunner('linux-6.12')(thp([
      mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' },
      { op: 'mremap', addr: 'buf', length: '2M', newLength: '2M', flags: ['maymove', 'fixed', 'dontunmap'], newAddr: to, as: 'nb' },
      { op: 'pagemap', addr: 'nb', as: 'pm' }, { op: 'load', addr: 'nb', length: '4K', as: 'l' },
      { op: 'pagemap', addr: 'buf', as: 'old' }, { op: 'load', addr: 'buf', length: '4K', as: 'lo' },
      { op: 'munmap', addr: 'nb', length: '2M', as: 'u' }, { op: 'munmap', addr: 'buf', length: '2M', as: 'uo' },
    ]));
    const aligned = mv('0x80000000'), other = mv('0x80001000');
    expect(aligned.r.observed).toMatchObject({ pm: 'pmd', l: 's', old: 'none', lo: 'zero' });
    expect(of(aligned.evs, 'thp_split_pmd')).toEqual([]);
    expect(other.r.observed).toMatchObject({ pm: 'pte', l: 's', old: 'none', lo: 'zero' });
    expect(of(other.evs, 'thp_split_pmd')).toHaveLength(1);
    expect([...aligned.r.violations, ...other.r.violations]).toEqual([]);
  });

  it('a pinned THP partly unmapped keeps the pinned page: the device and the CPU still share it, and the books balance', () => {
    const { r } = eraRunner('linux-6.12')(thp([
      mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '2M', access: 'rw', as: 'mr' },
      { op: 'munmap', addr: 'buf', offset: '1M', length: '4K', as: 'x' },
      { op: 'dma_write', mr: 'mr', length: '4K', as: 'w' }, { op: 'load', addr: 'buf', length: '4K', as: 'l' },
      { op: 'dereg_mr', mr: 'mr', as: 'd' },
    ], {}, NIC));
    expect(r.observed['l']).toBe('w');
    expect(r.violations).toEqual([]);
  });
});

describe('MADV_FREE on a THP', () => {
  /** 2 MiB written, then MADV_FREE of @free, reclaim, and a read of the first page, the third and the last. */
  const lazy = (free: Record<string, unknown>, before: Record<string, unknown>[] = []) => thp([
    mmap2M(), { op: 'store', addr: 'buf', length: '2M', as: 'fill' }, ...before,
    { op: 'madvise', addr: 'buf', advice: 'free', as: 'f', ...free }, { op: 'reclaim', target: '2M', as: 'rc' },
    { op: 'load', addr: 'buf', length: '4K', as: 'first' }, { op: 'load', addr: 'buf', offset: '8K', length: '4K', as: 'third' },
    { op: 'load', addr: 'buf', offset: '2044K', length: '4K', as: 'last' },
    { op: 'pagemap', addr: 'buf', offset: '1M', as: 'pm' },
  ], {}, NIC);

  it('of part of it: the PMD and the folio are split, so reclaim discards only the pages in the range', () => {
    const { r, evs } = eraRunner('linux-6.12')(lazy({ length: '4K' }));
    expect(r.results['f']).toBe('ok');
    expect(of(evs, 'thp_split_pmd')).toHaveLength(1);
    expect(of(evs, 'folio_split')).toHaveLength(511);
    expect(r.observed).toMatchObject({ first: 'zero', last: 'fill', pm: 'pte' });
    expect(r.ops['pm']).toMatchObject({ order: 0 });
    expect(r.violations).toEqual([]);
  });

  it('of part of a pinned one: the split is refused, the PMD stays and no page is discarded', () => {
    const { r, evs } = eraRunner('linux-6.12')(lazy({ length: '4K' }, [
      { op: 'gup', addr: 'buf', offset: '1M', length: '4K', flags: ['pin', 'longterm'], as: 'pin' },
    ]));
    expect(of(evs, 'thp_split_pmd')).toEqual([]);
    expect(of(evs, 'folio_split')).toEqual([]);
    expect(r.observed).toMatchObject({ first: 'fill', last: 'fill', pm: 'pmd' });
  });

  it('of part of a PTE-mapped one: the folio is split in the walk, and only the page in the range discarded', () => {
    const { r, evs } = eraRunner('linux-6.12')(lazy({ offset: '8K', length: '4K' }, [
      { op: 'mprotect', addr: 'buf', offset: '4K', length: '4K', prot: 'r', as: 'mp' },
      { op: 'mprotect', addr: 'buf', offset: '4K', length: '4K', prot: 'rw', as: 'mp2' },
    ]));
    expect(of(evs, 'thp_split_pmd')).toHaveLength(1);
    expect(of(evs, 'folio_split')).toHaveLength(511);
    expect(r.observed).toMatchObject({ first: 'fill', third: 'zero', last: 'fill', pm: 'pte' });
    expect(r.violations).toEqual([]);
  });

  it('of part of a PTE-mapped one that is pinned: the page table is skipped, nothing discarded', () => {
    const { r, evs } = eraRunner('linux-6.12')(lazy({ offset: '8K', length: '4K' }, [
      { op: 'gup', addr: 'buf', offset: '1M', length: '4K', flags: ['pin', 'longterm'], as: 'pin' },
      { op: 'mprotect', addr: 'buf', offset: '4K', length: '4K', prot: 'r', as: 'mp' },
      { op: 'mprotect', addr: 'buf', offset: '4K', length: '4K', prot: 'rw', as: 'mp2' },
    ]));
    expect(of(evs, 'thp_split_pmd')).toHaveLength(1);
    expect(of(evs, 'folio_split')).toEqual([]);
    expect(r.observed).toMatchObject({ first: 'fill', third: 'fill', last: 'fill', pm: 'pte' });
    expect(r.ops['pm']).toMatchObject({ order: 9 });
    expect(r.violations).toEqual([]);
  });

  it('of the whole 2 MiB: the THP is left as it is (not split, not discarded)', () => {
    const { r, evs } = eraRunner('linux-6.12')(lazy({ length: '2M' }));
    expect(of(evs, 'thp_split_pmd')).toEqual([]);
    expect(r.observed).toMatchObject({ first: 'fill', last: 'fill', pm: 'pmd' });
    expect(r.violations).toEqual([]);
  });
});

describe('GUP on a THP', () => {
  it('takes a PMD-mapped THP\'s pages at once (one dma_ref_get of 512 pages on its head), and a pin counts in its pin count', () => {
    const { r, evs } = eraRunner('linux-6.12')(thp([
      mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' },
      { op: 'gup', addr: 'buf', length: '2M', flags: ['pin', 'longterm'], as: 'pin' }, { op: 'unpin', pins: 'pin', as: 'u' },
    ]));
    expect(of(evs, 'dma_ref_get').map((e) => [e.nr, e.refs, e.pincount])).toEqual([[512, 1, 512]]);
    expect(r.violations).toEqual([]);
  });
});

describe('fork of a pinned THP, then the parent writes', () => {
  const forked = thp([
    mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's1' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '2M', access: 'rw', as: 'mr' },
    { op: 'fork', as: 'child' }, { op: 'pagemap', addr: 'buf', as: 'afterFork' },
    { op: 'store', addr: 'buf', length: '4K', as: 's2' }, { op: 'pagemap', addr: 'buf', as: 'afterWrite' },
    { op: 'dma_read', mr: 'mr', length: '4K', as: 'r' }, { op: 'dereg_mr', mr: 'mr', as: 'd' },
  ], {}, NIC);

  it('≤ 5.7: the PMD is COW-shared and the write copies the whole THP away from the pin (incoherent-mapping)', () => {
    const { r, evs } = eraRunner('linux-5.7')(forked);
    expect(r.observed).toMatchObject({ afterFork: 'pmd', afterWrite: 'pmd', r: 's1' });
    expect(of(evs, 'thp_cow_copy')).toHaveLength(1);
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });

  it('5.8: the write splits the PMD and copies 4 KiB away from the pin (incoherent-mapping)', () => {
    const { r, evs } = eraRunner('linux-5.8')(forked);
    expect(r.observed).toMatchObject({ afterFork: 'pmd', afterWrite: 'pte', r: 's1' });
    expect(of(evs, 'thp_cow_copy')).toEqual([]);
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });

  for (const era of ['linux-5.9', 'linux-6.12']) {
    it(`${era}: fork splits the pinned THP's PMD and copies every exclusive page for the child; the parent keeps the pinned folio writable`, () => {
      const { r, evs } = eraRunner(era)(forked);
      expect(r.observed).toMatchObject({ afterFork: 'pte', afterWrite: 'pte', r: 's2' });
      expect(of(evs, 'folio_alloc').filter((e) => e.owner === 'anon:child')).toHaveLength(512);
      expect(r.violations).toEqual([]);
    });
  }

  it('6.12: an unpinned THP stays COW-shared by its PMD across fork; the parent\'s write splits it and copies 4 KiB', () => {
    const { r, evs } = eraRunner('linux-6.12')(thp([
      mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's1' }, { op: 'fork', as: 'child' },
      { op: 'pagemap', addr: 'buf', as: 'afterFork' }, { op: 'store', addr: 'buf', length: '4K', as: 's2' },
      { op: 'pagemap', addr: 'buf', as: 'afterWrite' }, { op: 'pagemap', addr: 'buf', offset: '4K', as: 'next' },
    ]));
    expect(r.observed).toMatchObject({ afterFork: 'pmd', afterWrite: 'pte', next: 'pte' });
    expect(r.ops['afterWrite']?.['order']).toBe(0);
    expect(r.ops['next']?.['order']).toBe(9);
    expect(of(evs, 'thp_split_pmd')).toHaveLength(1);
  });
});

describe('FOLL_LONGTERM and ZONE_MOVABLE', () => {
  const pin = thp([mmap2M(), { op: 'store', addr: 'buf', length: '4K', as: 's' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '2M', access: 'rw', as: 'mr' }, { op: 'pagemap', addr: 'buf', as: 'pm' },
    { op: 'dereg_mr', mr: 'mr', as: 'd' }], { movable: '32M' }, NIC);
  it('5.13+: the THP moves whole out of ZONE_MOVABLE before it is pinned; 5.7 pins it in place', () => {
    const now = eraRunner('linux-6.12')(pin), old = eraRunner('linux-5.7')(pin);
    expect(of(now.evs, 'folio_migrate').map((e) => e.nr)).toEqual([512]);
    expect(now.r.observed['pm']).toBe('pmd');
    expect(of(old.evs, 'folio_migrate')).toEqual([]);
  });
});

describe('MADV_COLLAPSE', () => {
  const collapse = (pinned: boolean, fork = false) => thp([
    mmap2M(), { op: 'store', addr: 'buf', length: '2M', as: 's' },
    ...(pinned ? [{ op: 'gup', addr: 'buf', offset: '8K', length: '4K', flags: ['pin', 'longterm'], as: 'pin' }] : []),
    ...(fork ? [{ op: 'fork', as: 'child' }] : []),
    { op: 'madvise', addr: 'buf', length: '2M', advice: 'collapse', as: 'c' }, { op: 'pagemap', addr: 'buf', as: 'pm' },
  ], { thp: 'never' });

  it('collapses 4 KiB pages into a THP (6.1+), EINVAL before', () => {
    const { r, evs } = eraRunner('linux-6.12')(collapse(false));
    expect([r.results['c'], r.observed['pm']]).toEqual(['ok', 'pmd']);
    expect(of(evs, 'thp_collapse').map((e) => e.pages)).toEqual([512]);
    expect(eraRunner('linux-5.19')(collapse(false)).r.results['c']).toBe('EINVAL');
  });

  it('refuses a range with a pinned page: EINVAL in 6.1–6.2, EAGAIN from 6.3; nothing changes', () => {
    for (const [era, errno] of [['linux-6.2', 'EINVAL'], ['linux-6.3', 'EAGAIN'], ['linux-6.12', 'EAGAIN']]) {
      const { r } = eraRunner(era as string)(collapse(true));
      expect([era, r.results['c'], r.observed['pm']]).toEqual([era, errno, 'pte']);
    }
  });

  it('collapses across the VMAs an mprotect and its undo left (the kernel merged them): one VMA, and munmap frees the THP whole', () => {
    const { r, evs } = eraRunner('linux-6.12')(thp([
      mmap2M(), { op: 'store', addr: 'buf', length: '2M', as: 's' },
      { op: 'mprotect', addr: 'buf', offset: '4K', length: '4K', prot: 'r', as: 'ro' },
      { op: 'mprotect', addr: 'buf', offset: '4K', length: '4K', prot: 'rw', as: 'rw' },
      { op: 'madvise', addr: 'buf', length: '2M', advice: 'collapse', as: 'c' },
      { op: 'munmap', addr: 'buf', length: '2M', as: 'u' },
    ], { thp: 'never' }));
    expect(r.results['c']).toBe('ok');
    expect(of(evs, 'vma').filter((e) => e.what === 'unmap').map((e) => [e.start, e.end])).toEqual([[0x40000000, 0x40200000]]);
    expect(of(evs, 'folio_free').flatMap((e) => [...(e.nrs ?? [])]).filter((nr) => nr === 512)).toHaveLength(1);
    expect(r.violations).toEqual([]);
  });

  it('6.12: refuses a range fork left without a writable PTE (EINVAL)', () => {
    const { r } = eraRunner('linux-6.12')(collapse(false, true));
    expect([r.results['c'], r.observed['pm']]).toEqual(['EINVAL', 'pte']);
  });
});

describe('khugepaged', () => {
  const scan = (pinned: boolean, fork: boolean) => thp([
    mmap2M(), { op: 'madvise', addr: 'buf', length: '2M', advice: 'nohugepage', as: 'no' },
    { op: 'store', addr: 'buf', length: '16K', as: 's' },
    ...(pinned ? [{ op: 'gup', addr: 'buf', length: '4K', flags: ['pin', 'longterm'], as: 'pin' }] : []),
    ...(fork ? [{ op: 'fork', as: 'child' }, { op: 'store', addr: 'buf', offset: '4K', length: '4K', as: 'w' }] : []),
    { op: 'madvise', addr: 'buf', length: '2M', advice: 'hugepage', as: 'yes' },
    { op: 'sleep', duration: '2ms', as: 'z' }, { op: 'pagemap', addr: 'buf', as: 'pm' },
  ], { thp: 'madvise', khugepaged: { period: '1ms' } });

  it('collapses an eligible range in the background', () => {
    const { r, evs } = eraRunner('linux-6.12')(scan(false, false));
    expect(r.observed['pm']).toBe('pmd');
    expect(of(evs, 'thp_collapse').map((e) => e.by)).toEqual(['khugepaged']);
  });

  it('refuses a range with a pinned page in every era', () => {
    for (const era of ['linux-4.20', 'linux-5.7', 'linux-6.12']) expect([era, eraRunner(era)(scan(true, false)).r.observed['pm']]).toEqual([era, 'pte']);
  });

  it('≤ 5.7 refuses pages shared with another process; from 5.8 it collapses them', () => {
    expect(eraRunner('linux-5.7')(scan(false, true)).r.observed['pm']).toBe('pte');
    expect(eraRunner('linux-5.8')(scan(false, true)).r.observed['pm']).toBe('pmd');
  });

  // The child of a fork writes @cow pages of a THP the parent still maps by its PMD: the other pages
  // are mapped twice (the parent's PMD, the child's PTE), and khugepaged allows 256 such pages.
  const sharedThp = (cow: number) => ({
    name: 'max_ptes_shared', kernel: { memory: '64M', thp: 'madvise', khugepaged: { period: '1ms' } },
    actors: {
      app: [mmap2M(), { op: 'madvise', addr: 'buf', length: '2M', advice: 'hugepage', as: 'yes' }, { op: 'store', addr: 'buf', length: '2M', as: 's' }, { op: 'fork', as: 'child' }],
      kid: { process: 'child', ops: [
        { op: 'store', addr: 'buf', length: `${cow * 4}K`, at: '1ms', as: 'w' },
        { op: 'sleep', duration: '5ms', as: 'z' }, { op: 'pagemap', addr: 'buf', as: 'pm' },
      ] },
    },
  });

  it('counts a page the parent maps by its PMD as shared: 257 such pages exceed max_ptes_shared, 256 do not', () => {
    const run = eraRunner('linux-6.12');
    expect(run(sharedThp(255)).r.observed['pm']).toBe('pte');
    const { r, evs } = run(sharedThp(256));
    expect(r.observed['pm']).toBe('pmd');
    expect(of(evs, 'thp_collapse').map((e) => e.by)).toEqual(['khugepaged']);
  });
});

describe('gpu-hmm on a THP', () => {
  const snap = (split: boolean) => ({
    name: 'thp-snapshot', kernel: { memory: '64M', thp: 'always' }, devices: { gpu0: { model: 'gpu-hmm' } },
    actors: {
      app: [
        mmap2M(), { op: 'store', addr: 'buf', length: '2M', as: 'fill' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '2M', as: 'm' },
        { op: 'snapshot', mirror: 'm', offset: 0, length: '8K', as: 'before' },
        ...(split ? [{ op: 'munmap', addr: 'buf', offset: '1M', length: '4K', as: 'x' }] : []),
        { op: 'snapshot', mirror: 'm', offset: 0, length: '8K', as: 'after' },
      ],
    },
  });

  it('snapshot reports WRITE|PMD for a PMD-mapped THP from 5.9 (WRITE before), and order 0 once the PMD is split', () => {
    expect(eraRunner('linux-6.12')(snap(false)).r.observed).toMatchObject({ before: 'WRITE|PMD,WRITE|PMD', after: 'WRITE|PMD,WRITE|PMD' });
    expect(eraRunner('linux-5.7')(snap(false)).r.observed).toMatchObject({ before: 'WRITE,WRITE' });
    expect(eraRunner('linux-6.12')(snap(true)).r.observed).toMatchObject({ before: 'WRITE|PMD,WRITE|PMD', after: 'WRITE,WRITE' });
  });

  it('a PMD split invalidates the mirror over the whole 2 MiB, the pages the split keeps included', () => {
    const { evs } = eraRunner('linux-6.12')(snap(true));
    const split = of(evs, 'notifier_sub_done').find((e) => e.event === 'MMU_NOTIFY_CLEAR');
    expect([split?.start, split?.end]).toEqual([0x40000000, 0x40200000]);
  });
});

describe('migrate_to_device over THP', () => {
  it('splits the PMDs first; a THP\'s pages stay in system memory, the huge zero page\'s entries are migrated as zero pages', () => {
    const { r, evs } = eraRunner('linux-6.12')({
      name: 'thp-migrate-device', kernel: { memory: '64M', thp: 'always' }, devices: { gpu0: { model: 'gpu-hmm' } },
      actors: {
        app: [
          mmap2M('4M'), { op: 'store', addr: 'buf', length: '4K', as: 's' }, { op: 'load', addr: 'buf', offset: '2M', length: '4K', as: 'z' },
          { op: 'mirror', device: 'gpu0', addr: 'buf', length: '4M', as: 'm' },
          { op: 'migrate_to_device', mirror: 'm', length: '4M', as: 'mig' },
          { op: 'pagemap', addr: 'buf', as: 'thp' }, { op: 'pagemap', addr: 'buf', offset: '2M', as: 'zero' },
          { op: 'load', addr: 'buf', length: '4K', as: 'l' },
        ],
      },
    });
    expect(of(evs, 'thp_split_pmd')).toHaveLength(2);
    expect(r.observed).toMatchObject({ thp: 'pte', zero: 'none', l: 's' });
    expect(r.ops['thp']?.['order']).toBe(9);
    expect(r.violations).toEqual([]);
  });
});
