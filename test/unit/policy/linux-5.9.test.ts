/**
 * linux-5.9 (DESIGN §7b), as mm/features.ts resolves 5.9: do_wp_page() reuses an anonymous page
 * only when its refcount shows a sole holder (09854ba94c6a), the 5.8 forced COW break of GUP is gone
 * (a308c71bf1e6), fork copies maybe-pinned anonymous pages for the child (70e806e4e645); FOLL_PIN
 * as in 5.7, ib_umem_get still asks FOLL_WRITE|FOLL_FORCE, FOLL_COW still exists (until 6.0).
 */
import { describe, expect, it } from 'vitest';
import {
  eraRunner, example, kinds, of, FORCE_WRITE_RO_VMA, FORCED_RO_MR_AFTER_FORK, PINNED_WRITE_PROTECTED, privateFileRoPin, RO_PIN_AFTER_FORK,
  RO_PIN_PREVIOUSLY_SHARED, VMSPLICE_CHILD,
} from './era-fixtures.js';

const ERA = 'linux-5.9';
const run = eraRunner(ERA);

describe('linux-5.9: do_wp_page() reuses a page only for a sole holder', () => {
  it('a FOLL_GET holder (vmsplice) makes the parent\'s write copy: the pipe keeps the old data (CVE-2020-29374 fixed)', () => {
    const { r, evs } = run(VMSPLICE_CHILD);
    expect(r.observed['piperead']).toBe('old');
    expect(of(evs, 'cow_copy').map((e) => [e.rule, e.mapcount, e.refcount])).toEqual([['refcount', 1, 2]]);
  });

  it('a page pinned R/W while exclusive and write-protected by mprotect is copied on the next write: the pin goes stale', () => {
    const { r, evs } = run(PINNED_WRITE_PROTECTED);
    expect(r.observed['pinread']).toBe('old');
    expect(kinds(r)).toEqual(['incoherent-mapping']);
    expect(of(evs, 'cow_copy')[0]).toMatchObject({ rule: 'refcount', refcount: 1025, mapcount: 1, exclusive: false });
  });

  it('a R/O pin of a page fork shared takes it as it is (no unshare yet): the parent\'s write moves away from it', () => {
    const { r, evs } = run(RO_PIN_AFTER_FORK);
    expect(of(evs, 'gup_cow')).toEqual([]);
    expect(r.observed).toMatchObject({ pinread: 'old', childsaw: 'old' });
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });

  it('so does a R/O pin of a previously shared page, though only the parent maps it now (refcount 1025)', () => {
    const { r } = run(RO_PIN_PREVIOUSLY_SHARED);
    expect(r.observed['pinread']).toBe('old');
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });

  it('a R/O long-term pin of a private file mapping\'s page-cache page stays on it while the write COWs', () => {
    const { r } = run(privateFileRoPin('tmpfs'));
    expect(r.observed).toMatchObject({ mem0: 'zero', pinread: 'zero' });
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });
});

describe('linux-5.9: GUP and FOLL_FORCE', () => {
  it('a forced R/O MR on a R/O VMA after fork breaks COW through faultin_page, then the parent\'s later write copies its pinned copy', () => {
    const { r, evs } = run(FORCED_RO_MR_AFTER_FORK);
    const shared = of(evs, 'pte_set').find((e) => e.mm === 'child')!.pfn;
    const [get] = of(evs, 'dma_ref_get');
    expect(get!.fnames).toBe('FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE|FOLL_FORCE');
    expect(get!.pfn).not.toBe(shared);
    expect(r.observed).toMatchObject({ nicsaw: 'old', childsaw: 'old' });
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });

  it('FOLL_FORCE|FOLL_WRITE of an untouched R/O private page takes two faults: FOLL_COW needs a dirty PTE, do_anonymous_page leaves it clean', () => {
    const { r, evs } = run(FORCE_WRITE_RO_VMA);
    expect(r.results['ref']).toBe('ok');
    expect(of(evs, 'fault').map((e) => e.write)).toEqual([true, true]);
  });
});

describe('linux-5.9: fork with a pinned anonymous page', () => {
  it('fork copies the maybe-DMA-pinned page for the child: the NIC and the parent stay coherent', () => {
    const { r } = run(example('thread-2018/09-rdma-fork'));
    expect(r.observed).toMatchObject({ parentsaw: 'nicwrote', childsaw: 's0' });
    expect(kinds(r)).toEqual([]);
  });
});
