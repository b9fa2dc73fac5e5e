import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { do_pread, do_punch_hole, do_pwrite } from '../../../src/mm/fs/read_write.js';
import { get_user_pages_unlocked, unpin_user_pages_dirty_lock } from '../../../src/mm/gup.js';
import { HPAGE_PMD_ORDER } from '../../../src/mm/hugetlb.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { do_truncate } from '../../../src/mm/truncate.js';
import { FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE } from '../../../src/mm/types.js';
import { hugeKernel, M2, mmapHuge, pfnAt } from '../../helpers/hugetlb.js';
import { PAGE } from '../../helpers/kernel.js';

function file(era: string, size = 2 * M2) {
  const t = hugeKernel(era, 4);
  const f = t.k.create_inode('f', 'hugetlbfs', false, size, HPAGE_PMD_ORDER);
  const mm = t.k.create_process('p').mm;
  const a = mmapHuge(t, mm, { length: size, shared: true, file: f });
  t.run(cpu_access(t.k, mm, a, 2 * M2, t.k.new_content('w')));
  return { t, f, mm, a };
}
const h2 = (t: ReturnType<typeof hugeKernel>) => t.k.hugetlb.hstates.get(HPAGE_PMD_ORDER)!;

describe('hugetlbfs', () => {
  it('truncate to a size that is not a multiple of the huge page size is EINVAL; a whole-page truncate removes the pages beyond', () => {
    const { t, f, mm, a } = file('6.12');
    expect(t.run(do_truncate(t.k, f, M2 + PAGE))).toBe('EINVAL');
    expect(f.i_size).toBe(2 * M2);
    expect(t.run(do_truncate(t.k, f, M2))).toBe(0);
    expect(pfnAt(mm, a + M2)).toBe(-1);
    expect(pfnAt(mm, a)).toBeGreaterThan(0);
    expect([h2(t).free_huge_pages, h2(t).resv_huge_pages]).toEqual([3, 0]);
  });

  it('truncate orphans a pinned huge page: out of the file, neither free nor reserved until unpinned', () => {
    const { t, f, mm, a } = file('6.12');
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a + M2, 512, FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE, 'nic')) as DmaRef;
    const head = ref.pfns[0]!;
    t.run(do_truncate(t.k, f, M2));
    expect(t.k.mem.mappingOf(head)).toBe(0);
    expect(t.k.mem.free[head]).toBe(0);
    expect([h2(t).free_huge_pages, h2(t).resv_huge_pages]).toEqual([2, 0]);
    t.run(unpin_user_pages_dirty_lock(t.k, ref, true));
    expect(t.k.mem.free[head]).toBe(1);
    expect(h2(t).free_huge_pages).toBe(3);
  });

  it('hole punching removes whole huge pages; from 5.19 it zeroes the part of a partial one, before it leaves it', () => {
    for (const [era, zeroed] of [['5.18', false], ['5.19', true]] as const) {
      const { t, f, mm, a } = file(era);
      const head = pfnAt(mm, a);
      expect(t.run(do_punch_hole(t.k, f, M2 - 4 * PAGE, M2 + 4 * PAGE))).toBe(0);
      expect([era, pfnAt(mm, a + M2)]).toEqual([era, -1]);
      expect(pfnAt(mm, a)).toBe(head);
      expect([era, t.k.contents[t.k.mem.contentOf(head + 508)], t.k.contents[t.k.mem.contentOf(head + 507)]]).toEqual([era, zeroed ? 'zero' : 'w', 'w']);
    }
  });

  it('pwrite is EINVAL (no write path); pread reads the cached pages and zeros for a hole, allocating nothing', () => {
    const { t, f } = file('6.12');
    expect(t.run(do_pwrite(t.k, f, 0, PAGE, t.k.new_content('x')))).toBe('EINVAL');
    const g = t.k.create_inode('g', 'hugetlbfs', false, M2, HPAGE_PMD_ORDER);
    const used = t.k.alloc.used, free = h2(t).free_huge_pages;
    expect((t.run(do_pread(t.k, g, 0, 2 * PAGE)) as number[]).map((x) => t.k.contents[x])).toEqual(['zero', 'zero']);
    expect([t.k.alloc.used, h2(t).free_huge_pages]).toEqual([used, free]);
    expect((t.run(do_pread(t.k, f, 0, PAGE)) as number[]).map((x) => t.k.contents[x])).toEqual(['w']);
  });

  it('a writable mapping beyond the file\'s end extends it to the mapping\'s end', () => {
    const t = hugeKernel('6.12', 2);
    const f = t.k.create_inode('f', 'hugetlbfs', false, 0, HPAGE_PMD_ORDER);
    mmapHuge(t, t.k.create_process('p').mm, { length: PAGE, shared: true, file: f });
    expect(f.i_size).toBe(M2);
  });
});
