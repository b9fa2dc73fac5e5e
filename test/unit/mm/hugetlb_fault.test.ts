import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { IS_ERR } from '../../../src/mm/errno.js';
import { do_fork } from '../../../src/mm/fork.js';
import { get_user_pages_unlocked, unpin_user_pages_dirty_lock } from '../../../src/mm/gup.js';
import { HPAGE_PMD_ORDER } from '../../../src/mm/hugetlb.js';
import { do_madvise } from '../../../src/mm/madvise.js';
import { do_munmap } from '../../../src/mm/mmap.js';
import { do_mprotect } from '../../../src/mm/mprotect.js';
import { do_mremap } from '../../../src/mm/mremap.js';
import { folio_maybe_dma_pinned } from '../../../src/mm/page-flags.js';
import { pagemap_read } from '../../../src/mm/pagemap.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { pin_read } from '../../../src/mm/pin_access.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE } from '../../../src/mm/types.js';
import { hugeKernel, M2, mmapHuge, pfnAt } from '../../helpers/hugetlb.js';
import { PAGE } from '../../helpers/kernel.js';

function populated(era: string, n = 4) {
  const t = hugeKernel(era, n);
  const p = t.k.create_process('p');
  const a = mmapHuge(t, p.mm, { length: M2 });
  t.run(cpu_access(t.k, p.mm, a, PAGE, t.k.new_content('s1')));
  return { t, p, mm: p.mm, a, head: pfnAt(p.mm, a) };
}

describe('hugetlb faults: a huge page mapped whole', () => {
  it('a write fault maps a 2 MiB folio by one PMD entry: one reference, one entire mapcount, no per-page mapcount', () => {
    const { t, mm, a, head } = populated('6.12');
    const m = t.k.mem;
    expect(head % 512).toBe(0);
    expect(pfnAt(mm, a + 300 * PAGE)).toBe(head + 300);
    expect([m.refcount(head), m.folio_entire_mapcount(head), m.mapcount(head + 1)]).toEqual([1, 1, 0]);
    expect(pagemap_read(t.k, mm, a + 8 * PAGE)).toEqual({ level: 'pmd', order: HPAGE_PMD_ORDER });
    expect(t.events.filter((e) => e.type === 'pte_set').map((e) => 'nr' in e && e.nr)).toEqual([512]);
  });

  it('pagemap says "none" where nothing is mapped and "pte" for a 4 KiB page', () => {
    const { t, mm, a } = populated('6.12');
    expect(pagemap_read(t.k, mm, a + M2)).toEqual({ level: 'none' });
  });
});

describe('GUP on a huge page: the pin counting of each era', () => {
  it('4.20: FOLL_GET, +1 refcount per page on the head; no pin count; folio_maybe_dma_pinned is false', () => {
    const { t, mm, a, head } = populated('4.20');
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 8, FOLL_GET | FOLL_WRITE, 'dio')) as DmaRef;
    expect([t.k.mem.refcount(head), t.k.mem.pincount(head)]).toEqual([9, 0]);
    expect(folio_maybe_dma_pinned(t.k, head)).toBe(false);
    expect(ref.pfns).toEqual(Array.from({ length: 8 }, (_, i) => head + i));
  });

  it('5.7+: FOLL_PIN adds +1 refcount and +1 pin count per page (no 1024 bias); folio_maybe_dma_pinned is exact', () => {
    for (const era of ['5.7', '6.12']) {
      const { t, mm, a, head } = populated(era);
      const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 512, FOLL_PIN | FOLL_WRITE, 'dio')) as DmaRef;
      expect([era, t.k.mem.refcount(head), t.k.mem.pincount(head)]).toEqual([era, 513, 512]);
      expect(folio_maybe_dma_pinned(t.k, head)).toBe(true);
      // One trace event for the folio's pages.
      expect(t.events.filter((e) => e.type === 'dma_ref_get').map((e) => 'nr' in e && e.nr)).toEqual([512]);
      t.run(unpin_user_pages_dirty_lock(t.k, ref, false));
      expect([t.k.mem.refcount(head), t.k.mem.pincount(head), t.k.vmstat.nr_foll_pin_released]).toEqual([1, 0, 512]);
      expect(folio_maybe_dma_pinned(t.k, head)).toBe(false);
    }
  });
});

describe('hugetlb copy-on-write goes by mapcount', () => {
  it('a FOLL_GET holder (vmsplice) keeps seeing the writer\'s data after the other side unmapped (cow.c\'s hugetlb XFAIL), in every era', () => {
    for (const era of ['4.20', '5.9', '6.12']) {
      const { t, p, mm, a, head } = populated(era);
      const kid = t.run(do_fork(t.k, p, 'kid'))!;
      const ref = t.run(get_user_pages_unlocked(t.k, kid.mm, a, 1, FOLL_GET, 'pipe')) as DmaRef;
      t.run(do_munmap(t.k, kid.mm, a, M2));
      t.run(cpu_access(t.k, mm, a, PAGE, t.k.new_content('s2')));
      expect([era, pfnAt(mm, a)]).toEqual([era, head]);
      const r = t.run(pin_read(t.k, { ref, addr: a, length: PAGE }, 0, PAGE, 'r'));
      expect([era, t.k.contents[r.tokens[0]!]]).toEqual([era, 's2']);
    }
  });

  it('a page mapped twice is copied whole for the writer', () => {
    const { t, p, mm, a, head } = populated('6.12');
    t.run(do_fork(t.k, p, 'kid'));
    t.run(cpu_access(t.k, mm, a + PAGE, PAGE, t.k.new_content('s2')));
    const now = pfnAt(mm, a);
    expect(now).not.toBe(head);
    expect(t.k.contents[t.k.mem.contentOf(now)]).toBe('s1');
    expect(t.k.mem.folio_entire_mapcount(head)).toBe(1);
  });
});

describe('fork of a pinned huge page', () => {
  it('from 5.12 the child gets a copy of a maybe-pinned anonymous huge page; the parent keeps the pinned one writable', () => {
    for (const [era, copied] of [['5.11', false], ['5.12', true], ['6.12', true]] as const) {
      const { t, p, mm, a, head } = populated(era);
      t.run(get_user_pages_unlocked(t.k, mm, a, 1, FOLL_PIN | FOLL_WRITE, 'nic'));
      const kid = t.run(do_fork(t.k, p, 'kid'))!;
      expect([era, pfnAt(kid.mm, a) !== head]).toEqual([era, copied]);
      t.run(cpu_access(t.k, mm, a, PAGE, t.k.new_content('s2')));
      expect([era, pfnAt(mm, a) === head]).toEqual([era, copied]);
    }
  });
});

describe('no munmap, mprotect or madvise may split a hugetlb VMA inside a huge page', () => {
  it('munmap and mprotect of a 4 KiB part are EINVAL and change nothing; of the whole huge page they work', () => {
    const { t, mm, a, head } = populated('6.12');
    expect(t.run(do_munmap(t.k, mm, a, PAGE))).toBe('EINVAL');
    expect(t.run(do_mprotect(t.k, mm, a + PAGE, PAGE, 'r'))).toBe('EINVAL');
    expect(pfnAt(mm, a)).toBe(head);
    expect(t.run(do_mprotect(t.k, mm, a, M2, 'r'))).toBe(0);
    expect(t.run(do_munmap(t.k, mm, a, M2))).toBe(0);
    expect(pfnAt(mm, a)).toBe(-1);
  });

  it('MADV_DONTNEED: EINVAL before 5.18; 5.18–6.0 rounds a partial end up (the huge page goes); 6.1+ rounds it down (kept)', () => {
    for (const [era, result, kept] of [['5.17', 'EINVAL', true], ['5.18', 0, false], ['6.0', 0, false], ['6.1', 0, true]] as const) {
      const { t, mm, a, head } = populated(era);
      expect([era, t.run(do_madvise(t.k, mm, a, 1024, 'dontneed'))]).toEqual([era, result]);
      expect([era, pfnAt(mm, a) === head]).toEqual([era, kept]);
      if (era !== '5.17') expect(t.run(do_madvise(t.k, mm, a + PAGE, PAGE, 'dontneed'))).toBe('EINVAL');
    }
  });

  it('mremap of a hugetlb VMA: EINVAL before 5.16 (but a shrink in place); from 5.16 an aligned move keeps the same huge page', () => {
    const old = populated('5.15');
    expect(old.t.run(do_mremap(old.t.k, old.mm, { addr: old.a, old_len: M2, new_len: M2, maymove: true, fixed: true, new_addr: old.a + 16 * M2 }))).toBe('EINVAL');
    const nw = populated('5.16');
    const to = nw.a - 16 * M2;
    const r = nw.t.run(do_mremap(nw.t.k, nw.mm, { addr: nw.a, old_len: M2, new_len: M2, maymove: true, fixed: true, new_addr: to }));
    expect(r).toBe(to);
    expect(pfnAt(nw.mm, to + PAGE)).toBe(nw.head + 1);
    expect(nw.t.run(do_mremap(nw.t.k, nw.mm, { addr: to, old_len: M2, new_len: 2 * M2, maymove: true, fixed: false, new_addr: null }))).toBe('EINVAL');
  });
});

describe('FOLL_LONGTERM and a hugetlb page in ZONE_MOVABLE', () => {
  function movable(era: string) {
    const t = hugeKernel(era, 1, { movable: M2 });
    const p = t.k.create_process('p');
    const a = mmapHuge(t, p.mm, { length: M2 });
    t.run(cpu_access(t.k, p.mm, a, PAGE, t.k.new_content('s1')));
    return { t, mm: p.mm, a, head: pfnAt(p.mm, a) };
  }

  it('from 5.13 the pin migrates the whole huge page out first (to a temporary page outside the pool\'s free ones), all or nothing', () => {
    const { t, mm, a, head } = movable('6.12');
    expect(t.k.movable.pfns.has(head)).toBe(true);
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 512, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, 'nic')) as DmaRef;
    expect(IS_ERR(ref)).toBe(false);
    const now = pfnAt(mm, a);
    expect(now).not.toBe(head);
    expect(t.k.movable.pfns.has(now)).toBe(false);
    expect(ref.pfns[0]).toBe(now);
    expect(t.k.contents[t.k.mem.contentOf(now)]).toBe('s1');
    expect(t.events.filter((e) => e.type === 'folio_migrate')).toHaveLength(1);
    expect(t.k.hugetlb.hstates.get(HPAGE_PMD_ORDER)!.nr_huge_pages).toBe(1);
  });

  it('another reference on it: the migration fails and the pin returns ENOMEM holding nothing; before 5.13 it pins in place', () => {
    const { t, mm, a, head } = movable('6.12');
    t.run(get_user_pages_unlocked(t.k, mm, a, 1, FOLL_PIN | FOLL_WRITE, 'dio'));
    expect(t.run(get_user_pages_unlocked(t.k, mm, a, 512, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, 'nic'))).toBe('ENOMEM');
    expect(t.k.mem.pincount(head)).toBe(1);
    const old = movable('5.12');
    const ref = old.t.run(get_user_pages_unlocked(old.t.k, old.mm, old.a, 512, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, 'nic')) as DmaRef;
    expect(ref.pfns[0]).toBe(old.head);
  });

  it('a shared hugetlbfs page moves in the page cache whole: every page\'s entry names its page of the new huge page', () => {
    const t = hugeKernel('6.12', 1, { movable: M2 });
    const p = t.k.create_process('p');
    const f = t.k.create_inode('f', 'hugetlbfs', false, M2, HPAGE_PMD_ORDER);
    const a = mmapHuge(t, p.mm, { length: M2, shared: true, file: f });
    t.run(cpu_access(t.k, p.mm, a, PAGE, t.k.new_content('s1')));
    const head = pfnAt(p.mm, a);
    expect(f.i_mapping.i_pages.get(511)).toBe(head + 511 + 1);
    t.run(get_user_pages_unlocked(t.k, p.mm, a, 512, FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM, 'nic'));
    const now = pfnAt(p.mm, a);
    expect(now).not.toBe(head);
    for (const i of [0, 1, 255, 511]) expect(f.i_mapping.i_pages.get(i)).toBe(now + i + 1);
  });
});
