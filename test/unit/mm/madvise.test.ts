/**
 * madvise: MADV_FREE (lazily freeable private anonymous memory, discarded by reclaim per era) and
 * MADV_REMOVE (a hole punch of the file behind a shared mapping).
 */
import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { filemap_get_folio } from '../../../src/mm/filemap.js';
import { get_user_pages_unlocked } from '../../../src/mm/gup.js';
import { do_madvise } from '../../../src/mm/madvise.js';
import { do_mmap, type MmapArgs } from '../../../src/mm/mmap.js';
import { pte_dirty, pte_pfn, pte_present, type MmStruct } from '../../../src/mm/mm_types.js';
import { do_fork } from '../../../src/mm/fork.js';
import { shrink_folio_list } from '../../../src/mm/vmscan.js';
import { FOLL_PIN, FOLL_WRITE, PG_dirty, PG_lazyfree } from '../../../src/mm/types.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { makeKernel, PAGE } from '../../helpers/kernel.js';

const map = (o: Partial<MmapArgs>): MmapArgs => ({
  addr: null, length: 4 * PAGE, prot: 'rw', shared: false, private: true, fixed: false, populate: false, file: null, offset: 0, ...o,
});

function anonWritten(era: '4.20' | '6.12' | `${number}.${number}` = '6.12') {
  const t = makeKernel(era);
  const p = t.k.create_process('p');
  const a = t.run(do_mmap(t.k, p.mm, map({}), '')) as number;
  const tok = t.k.new_content('s1');
  t.run(cpu_access(t.k, p.mm, a, 4 * PAGE, tok));
  return { t, p, mm: p.mm, a, tok };
}
const pteAt = (mm: MmStruct, va: number) => mm.pgtable.get(va / PAGE);

describe('MADV_FREE (madvise_free_single_vma)', () => {
  it('leaves the pages mapped, clean and lazily freeable, under one MMU_NOTIFY_CLEAR', () => {
    const { t, mm, a, tok } = anonWritten();
    const n = t.events.length;
    expect(t.run(do_madvise(t.k, mm, a, 4 * PAGE, 'free'))).toBe(0);
    const pfn = pte_pfn(pteAt(mm, a));
    expect(pte_present(pteAt(mm, a))).toBe(true);
    expect(pte_dirty(pteAt(mm, a))).toBe(false);
    expect(t.k.mem.flags[pfn]! & (PG_dirty | PG_lazyfree)).toBe(PG_lazyfree);
    expect(t.events.slice(n).filter((e) => e.type === 'notifier_start').map((e) => (e as { event: string }).event)).toEqual(['MMU_NOTIFY_CLEAR']);
    expect(t.run(cpu_access(t.k, mm, a, PAGE, -1)).tokens).toEqual([tok]);
  });

  it('is EINVAL on a file mapping or shared anonymous memory, and on an unmapped range ENOMEM', () => {
    const t = makeKernel('6.12');
    const p = t.k.create_process('p');
    const f = t.k.create_inode('f', 'ext4', false, 4 * PAGE);
    const file = t.run(do_mmap(t.k, p.mm, map({ file: f }), '')) as number;
    const shm = t.run(do_mmap(t.k, p.mm, map({ shared: true, private: false }), '')) as number;
    expect(t.run(do_madvise(t.k, p.mm, file, PAGE, 'free'))).toBe('EINVAL');
    expect(t.run(do_madvise(t.k, p.mm, shm, PAGE, 'free'))).toBe('EINVAL');
    expect(t.run(do_madvise(t.k, p.mm, 0x10000000, PAGE, 'free'))).toBe('ENOMEM');
  });

  it('reclaim discards a page not written since: the process then reads a new zero page, the frame is freed', () => {
    const { t, mm, a } = anonWritten();
    const pfn = pte_pfn(pteAt(mm, a));
    t.run(do_madvise(t.k, mm, a, 4 * PAGE, 'free'));
    expect(t.run(shrink_folio_list(t.k, 4))).toBe(4);
    expect(t.k.mem.free[pfn]).toBe(1);
    expect(pte_present(pteAt(mm, a))).toBe(false);
    expect(t.run(cpu_access(t.k, mm, a, PAGE, -1)).tokens).toEqual([0]);
  });

  it('a store after MADV_FREE redirties the PTE: reclaim keeps that page (an ordinary anonymous page again)', () => {
    const { t, mm, a } = anonWritten();
    t.run(do_madvise(t.k, mm, a, 4 * PAGE, 'free'));
    const again = t.k.new_content('again');
    t.run(cpu_access(t.k, mm, a, PAGE, again));
    expect(t.run(shrink_folio_list(t.k, 4))).toBe(3);
    const pfn = pte_pfn(pteAt(mm, a));
    expect(t.k.mem.flags[pfn]! & PG_lazyfree).toBe(0);
    expect(t.run(cpu_access(t.k, mm, a, PAGE, -1)).tokens).toEqual([again]);
  });

  it('a page shared with a child after fork is not made lazily freeable', () => {
    const { t, p, mm, a } = anonWritten('4.20');
    t.run(do_fork(t.k, p, 'kid'));
    t.run(do_madvise(t.k, mm, a, 4 * PAGE, 'free'));
    expect(t.k.lazyfree.size).toBe(0);
  });

  it.each([['5.17', true], ['5.18', false], ['6.12', false]] as const)('under linux-%s reclaim discards a lazyfree page a GUP user still holds: %s', (era, discarded) => {
    const { t, mm, a } = anonWritten(era);
    const pfn = pte_pfn(pteAt(mm, a));
    t.run(get_user_pages_unlocked(t.k, mm, a, 1, FOLL_PIN | FOLL_WRITE, 'odirect'));
    t.run(do_madvise(t.k, mm, a, PAGE, 'free'));
    t.run(shrink_folio_list(t.k, 1));
    expect(pte_present(pteAt(mm, a))).toBe(!discarded);
    // Discarded or not, the held frame is not freed.
    expect(t.k.mem.free[pfn]).toBe(0);
  });

  it('an ODP device that wrote the page dirties it in reclaim\'s invalidation: the page is kept', () => {
    const ops = (dev: boolean) => [
      { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '4K', as: 's1' },
      { op: 'madvise', addr: 'buf', length: '4K', advice: 'free' },
      ...(dev ? [
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access: 'rw', as: 'mr' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w' },
      ] : []),
      { op: 'reclaim', target: '4K' },
      { op: 'load', addr: 'buf', length: '4K', as: 'cpu' },
    ];
    const s = (dev: boolean) => ({ name: 'free-odp', kernel: { memory: '64M' }, devices: { nic0: { model: 'odp-nic' } }, actors: { app: ops(dev) } });
    expect(runScenario(s(false)).observed['cpu']).toBe('zero');
    const r = runScenario(s(true));
    expect(r.observed['cpu']).toBe('w');
    expect(r.violations).toEqual([]);
  });
});

describe('MADV_REMOVE (madvise_remove → fallocate PUNCH_HOLE)', () => {
  function fileMapped(era: '6.6' | '6.7' | '6.12', prot: 'rw' | 'r', shared = true) {
    const t = makeKernel(era);
    const p = t.k.create_process('p');
    const f = t.k.create_inode('f', 'tmpfs', false, 4 * PAGE);
    const a = t.run(do_mmap(t.k, p.mm, map({ file: f, prot, shared, private: !shared }), '')) as number;
    t.run(cpu_access(t.k, p.mm, a, 4 * PAGE, -1));
    return { t, mm: p.mm, f, a };
  }

  it('punches the file behind the range: its page-cache pages go, the rest of the file stays, i_size too', () => {
    const { t, mm, f, a } = fileMapped('6.12', 'rw');
    expect(t.run(do_madvise(t.k, mm, a + PAGE, 2 * PAGE, 'remove'))).toBe(0);
    expect([0, 1, 2, 3].map((i) => filemap_get_folio(f.i_mapping, i) >= 0)).toEqual([true, false, false, true]);
    expect(f.i_size).toBe(4 * PAGE);
  });

  it('is EACCES on a private file mapping and EINVAL on private anonymous memory', () => {
    const { t, mm, a } = fileMapped('6.12', 'rw', false);
    expect(t.run(do_madvise(t.k, mm, a, PAGE, 'remove'))).toBe('EACCES');
    const anon = t.run(do_mmap(t.k, mm, map({}), '')) as number;
    expect(t.run(do_madvise(t.k, mm, anon, PAGE, 'remove'))).toBe('EINVAL');
  });

  it('a shared PROT_READ mapping: EACCES before 6.7 (VM_WRITE), allowed from 6.7 (VM_MAYWRITE)', () => {
    for (const [era, want] of [['6.6', 'EACCES'], ['6.7', 0]] as const) {
      const { t, mm, a } = fileMapped(era, 'r');
      expect(t.run(do_madvise(t.k, mm, a, PAGE, 'remove'))).toBe(want);
    }
  });
});
