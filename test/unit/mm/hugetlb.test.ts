import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { do_fork } from '../../../src/mm/fork.js';
import { do_munmap } from '../../../src/mm/mmap.js';
import { HPAGE_PMD_ORDER, HPAGE_PUD_ORDER, type HState } from '../../../src/mm/hugetlb.js';
import { G1, hugeKernel, M2, mmapHuge, mmapRaw, pfnAt } from '../../helpers/hugetlb.js';

const h2 = (t: ReturnType<typeof hugeKernel>): HState => t.k.hugetlb.hstates.get(HPAGE_PMD_ORDER)!;

describe('the hugetlb pool at boot', () => {
  it('kernel.hugepages carves the pages from kernel.memory: aligned large folios on the pool\'s free list', () => {
    const t = hugeKernel('6.12', 3);
    const h = h2(t);
    expect([h.nr_huge_pages, h.free_huge_pages, h.resv_huge_pages]).toEqual([3, 3, 0]);
    for (const head of h.freelist) {
      expect(head % 512).toBe(0);
      expect(t.k.mem.folio_order(head)).toBe(HPAGE_PMD_ORDER);
    }
    expect(t.k.alloc.used).toBe(3 * 512);
  });

  it('takes what fits when memory cannot hold the whole pool', () => {
    const t = hugeKernel('6.12', 100, { memory: 8 * 1024 * 1024 });
    expect(t.k.hugepages_allocated.get(HPAGE_PMD_ORDER)).toBe(3);
  });

  it('2 MiB pages come from ZONE_MOVABLE first; 1 GiB pages never', () => {
    const t = hugeKernel('6.12', 2, { n1g: 1, memory: 2 * G1, movable: 2 * M2 });
    for (const head of h2(t).freelist) expect(t.k.movable.pfns.has(head)).toBe(true);
    const g = t.k.hugetlb.hstates.get(HPAGE_PUD_ORDER)!;
    expect(g.nr_huge_pages).toBe(1);
    expect(t.k.movable.pfns.has(g.freelist[0]!)).toBe(false);
  });
});

describe('hugetlb reservations', () => {
  it('mmap reserves every huge page of a private mapping; ENOMEM when the pool cannot cover it', () => {
    const t = hugeKernel('6.12', 2);
    const mm = t.k.create_process('p').mm;
    mmapHuge(t, mm, { length: M2 });
    expect(h2(t).resv_huge_pages).toBe(1);
    expect(mmapRaw(t, mm, { length: 2 * M2 })).toBe('ENOMEM');
    expect(h2(t).resv_huge_pages).toBe(1);
    mmapHuge(t, mm, { length: 1 });
    expect(h2(t).resv_huge_pages).toBe(2);
  });

  it('a fault consumes the reservation; munmap gives back only what was not consumed', () => {
    const t = hugeKernel('6.12', 3);
    const mm = t.k.create_process('p').mm;
    const a = mmapHuge(t, mm, { length: 2 * M2 });
    t.run(cpu_access(t.k, mm, a, 4096, t.k.new_content('s')));
    expect([h2(t).free_huge_pages, h2(t).resv_huge_pages]).toEqual([2, 1]);
    t.run(do_munmap(t.k, mm, a, 2 * M2));
    expect([h2(t).free_huge_pages, h2(t).resv_huge_pages]).toEqual([3, 0]);
  });

  it('a shared mapping reserves the file range once, however many map it', () => {
    const t = hugeKernel('6.12', 2);
    const f = t.k.create_inode('f', 'hugetlbfs', false, 2 * M2, HPAGE_PMD_ORDER);
    const a = t.k.create_process('a').mm, b = t.k.create_process('b').mm;
    mmapHuge(t, a, { length: 2 * M2, shared: true, file: f });
    mmapHuge(t, b, { length: M2, shared: true, file: f });
    expect(h2(t).resv_huge_pages).toBe(2);
  });

  it('a fork\'s child owns no reservation: its copy-on-write takes a free unreserved page or SIGBUS', () => {
    const t = hugeKernel('6.12', 2);
    const p = t.k.create_process('p');
    const a = mmapHuge(t, p.mm, { length: 2 * M2 });
    t.run(cpu_access(t.k, p.mm, a, 4096, t.k.new_content('s')));
    const kid = t.run(do_fork(t.k, p, 'kid'))!;
    // The parent still reserves its second page: nothing is free and unreserved for the child.
    const r = t.run(cpu_access(t.k, kid.mm, a, 4096, t.k.new_content('k')));
    expect(r.signal).toBe('SIGBUS');
    expect(pfnAt(p.mm, a)).toBeGreaterThan(0);
  });
});
