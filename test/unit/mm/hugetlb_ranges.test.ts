/**
 * A huge page on the range events, and the madvise/mremap words that reach hugetlb VMAs: a huge
 * entry's zap is one `pte_clear` listing its pages (with `nr`), a huge page's free, page-cache
 * removal and end-of-run counts list it once by its head (with `nrs`), and an order-0 event carries
 * neither. MADV_FREE and MREMAP_DONTUNMAP never apply to a hugetlb VMA; MADV_REMOVE punches the
 * hugetlbfs file behind a shared one.
 */
import { describe, expect, it } from 'vitest';
import { cpu_access } from '../../../src/mm/cpu.js';
import { HPAGE_PMD_ORDER } from '../../../src/mm/hugetlb.js';
import { do_madvise } from '../../../src/mm/madvise.js';
import { do_munmap } from '../../../src/mm/mmap.js';
import { do_mremap } from '../../../src/mm/mremap.js';
import type { MmEventOf } from '../../../src/mm/trace_events.js';
import { do_truncate } from '../../../src/mm/truncate.js';
import { finalEvents } from '../../../src/scenario/run/background.js';
import { hugeKernel, M2, mmapHuge, pfnAt } from '../../helpers/hugetlb.js';
import { PAGE } from '../../helpers/kernel.js';

function populated(era = '6.12', shared = false) {
  const t = hugeKernel(era, 4);
  const p = t.k.create_process('p');
  const f = shared ? t.k.create_inode('f', 'hugetlbfs', false, 2 * M2, HPAGE_PMD_ORDER) : null;
  const a = mmapHuge(t, p.mm, { length: 2 * M2, ...(f ? { shared: true, file: f } : {}) });
  t.run(cpu_access(t.k, p.mm, a, 2 * M2, t.k.new_content('s1')));
  return { t, p, mm: p.mm, a, f, head: pfnAt(p.mm, a) };
}

const of = <T extends MmEventOf<'pte_clear' | 'folio_free' | 'filemap_remove' | 'frame_final'>['type']>(
  t: ReturnType<typeof populated>['t'], type: T,
): MmEventOf<T>[] => t.events.filter((e): e is MmEventOf<T> => e.type === type);

describe('a huge page on the range events', () => {
  it('munmap: one pte_clear per huge entry listing its 512 pages (nr 512), then one folio_free of the two heads (nrs)', () => {
    const { t, mm, a, head } = populated();
    const second = pfnAt(mm, a + M2);
    expect(t.run(do_munmap(t.k, mm, a, 2 * M2))).toBe(0);
    const zaps = of(t, 'pte_clear');
    expect(zaps.map((z) => [z.start - a, z.end - z.start, z.nr, z.pfns.length])).toEqual([[0, M2, 512, 512], [M2, M2, 512, 512]]);
    expect(Array.from(zaps[0]!.pfns.subarray(0, 3))).toEqual([head, head + 1, head + 2]);
    expect(zaps[0]!.pfns[511]).toBe(head + 511);
    const frees = of(t, 'folio_free');
    expect(frees.map((f) => [Array.from(f.pfns), Array.from(f.nrs ?? [])])).toEqual([[[head, second], [512, 512]]]);
  });

  it('truncate of a hugetlbfs file: one filemap_remove batch listing each huge page once by its head and first index', () => {
    const { t, f, head, mm, a } = populated('6.12', true);
    const second = pfnAt(mm, a + M2);
    expect(t.run(do_truncate(t.k, f!, 0))).toBe(0);
    const rm = of(t, 'filemap_remove');
    expect(rm).toHaveLength(1);
    expect([Array.from(rm[0]!.pfns), Array.from(rm[0]!.indices), Array.from(rm[0]!.nrs ?? [])]).toEqual([[head, second], [0, 512], [512, 512]]);
    expect(rm[0]!.reason).toBe('truncate');
  });

  it('the end-of-run counts list a live huge page once, with its pages; order-0 frames carry no nrs', () => {
    const { t, head } = populated();
    finalEvents(t.k);
    const finals = of(t, 'frame_final');
    const at = Array.from(finals[0]!.pfns).indexOf(head);
    expect(at).toBeGreaterThanOrEqual(0);
    expect([finals[0]!.nrs?.[at], finals[0]!.refcounts[at], finals[0]!.mapcounts[at]]).toEqual([512, 1, 1]);
    expect(Array.from(finals[0]!.pfns)).not.toContain(head + 1);
    for (const f of finals) expect(f.nrs?.length ?? f.pfns.length).toBe(f.pfns.length);

    const small = hugeKernel('6.12', 0);
    const q = small.k.create_process('q');
    const b = mmapHuge(small, q.mm, { length: 4 * PAGE, hugetlb: false });
    small.run(cpu_access(small.k, q.mm, b, 4 * PAGE, small.k.new_content('x')));
    small.run(do_munmap(small.k, q.mm, b, 4 * PAGE));
    finalEvents(small.k);
    for (const e of small.events) expect([e.type, 'nr' in e || 'nrs' in e]).toEqual([e.type, false]);
  });
});

describe('madvise and mremap words on hugetlb VMAs', () => {
  it('MADV_FREE is EINVAL (a hugetlb VMA is not anonymous memory) and keeps the page', () => {
    const { t, mm, a, head } = populated();
    expect(t.run(do_madvise(t.k, mm, a, M2, 'free'))).toBe('EINVAL');
    expect(pfnAt(mm, a)).toBe(head);
  });

  it('MADV_REMOVE of a shared hugetlbfs mapping punches the file (whole huge pages); of a private one it is EACCES', () => {
    const { t, f, mm, a } = populated('6.12', true);
    expect(t.run(do_madvise(t.k, mm, a + M2, M2, 'remove'))).toBe(0);
    expect(pfnAt(mm, a + M2)).toBe(-1);
    expect(f!.i_mapping.i_pages.get(512)).toBe(0);
    expect(pfnAt(mm, a)).toBeGreaterThan(0);
    const priv = populated();
    expect(priv.t.run(do_madvise(priv.t.k, priv.mm, priv.a, M2, 'remove'))).toBe('EACCES');
    expect(pfnAt(priv.mm, priv.a)).toBe(priv.head);
  });

  it('MREMAP_DONTUNMAP of a hugetlb VMA is EINVAL in every era that has the flag (VM_DONTEXPAND); the pages stay', () => {
    for (const era of ['5.7', '5.13', '6.12']) {
      const { t, mm, a, head } = populated(era);
      const r = t.run(do_mremap(t.k, mm, { addr: a, old_len: M2, new_len: M2, maymove: true, fixed: false, dontunmap: true, new_addr: null }));
      expect([era, r, pfnAt(mm, a)]).toEqual([era, 'EINVAL', head]);
    }
  });
});
