/**
 * linux-5.19 (DESIGN §7b), as mm/features.ts resolves 5.19: PageAnonExclusive (6c287605fd56) —
 * fresh anonymous pages are exclusive, fork clears the flag when it shares a page, do_wp_page()
 * reuses an exclusive page whatever its refcount — and R/O FOLL_PIN of a possibly shared anonymous
 * page unshares first (a7f226604170). Not yet: the 6.2 unshare of page-cache and zero pages, the
 * 6.2 ib_umem_get without FOLL_FORCE, the 6.0 removal of FOLL_COW, the 6.5 refusal of writable
 * long-term file pins.
 */
import { describe, expect, it } from 'vitest';
import {
  anonPin, eraRunner, example, filePin, kinds, of, FORCE_WRITE_RO_VMA, FORCED_RO_MR_AFTER_FORK, PINNED_WRITE_PROTECTED, privateFileRoPin,
  RO_PIN_AFTER_FORK, RO_PIN_PREVIOUSLY_SHARED, VMSPLICE_CHILD,
} from './era-fixtures.js';

const ERA = 'linux-5.19';
const run = eraRunner(ERA);

describe('linux-5.19: R/O pins of anonymous memory unshare first', () => {
  it('R/O FOLL_PIN of a non-exclusive anon page (fork shared it): unshare fault, the pin gets an exclusive copy, the write reuses it', () => {
    const { r, evs } = run(RO_PIN_AFTER_FORK);
    const [u] = of(evs, 'gup_cow');
    expect(u).toMatchObject({ reason: 'unshare_anon', holder: 'app', fnames: 'FOLL_PIN|FOLL_LONGTERM' });
    const [get] = of(evs, 'dma_ref_get');
    expect(get!.pfn).not.toBe(u!.pfn);
    expect(r.observed).toMatchObject({ pinread: 'new', childsaw: 'old' });
    expect(kinds(r)).toEqual([]);
  });

  it('a previously shared page (the child exited): the unshare finds a sole holder and only marks it exclusive, no copy', () => {
    const { r, evs } = run(RO_PIN_PREVIOUSLY_SHARED);
    const [u] = of(evs, 'gup_cow');
    expect(u!.reason).toBe('unshare_anon');
    expect(of(evs, 'dma_ref_get')[0]!.pfn).toBe(u!.pfn);
    expect(of(evs, 'cow_copy')).toEqual([]);
    expect(r.observed['pinread']).toBe('new');
    expect(kinds(r)).toEqual([]);
  });

  it('a page pinned while exclusive is reused by the write after mprotect write-protected it (COW-07)', () => {
    const { r, evs } = run(PINNED_WRITE_PROTECTED);
    expect(of(evs, 'cow_copy')).toEqual([]);
    expect(r.observed['pinread']).toBe('new');
  });

  it('a FOLL_GET holder is not a pin: no unshare for vmsplice, but fork cleared exclusivity and the refcount makes the write copy', () => {
    const { r, evs } = run(VMSPLICE_CHILD);
    expect(of(evs, 'gup_cow')).toEqual([]);
    expect(of(evs, 'cow_copy').map((e) => [e.rule, e.exclusive, e.refcount])).toEqual([['anon_exclusive', false, 2]]);
    expect(r.observed['piperead']).toBe('old');
  });
});

describe('linux-5.19: what waits for 6.0 and 6.2', () => {
  it('a R/O long-term pin of a private file mapping\'s page-cache page is not unshared (6.2): the pin goes stale', () => {
    const { r, evs } = run(privateFileRoPin('tmpfs'));
    expect(of(evs, 'gup_cow')).toEqual([]);
    expect(r.observed['pinread']).toBe('zero');
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });

  it('a read-only MR still asks FOLL_WRITE|FOLL_FORCE; after fork it breaks COW at registration and the copy stays coherent', () => {
    const { r, evs } = run(FORCED_RO_MR_AFTER_FORK);
    expect(of(evs, 'dma_ref_get')[0]!.fnames).toBe('FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE|FOLL_FORCE');
    expect(r.observed).toMatchObject({ nicsaw: 'new', childsaw: 'old' });
    expect(kinds(r)).toEqual([]);
  });

  it('FOLL_COW still decides a FOLL_FORCE write of a R/O VMA: two faults for an untouched page', () => {
    expect(of(run(FORCE_WRITE_RO_VMA).evs, 'fault')).toHaveLength(2);
  });

  it('a writable long-term pin of a shared ext4 mapping is still granted (the refusal is 6.5), and ext4 skips instead of BUG (5.18)', () => {
    expect(run(filePin('ext4', { op: 'gup', flags: ['pin', 'longterm', 'write'] })).r.results['ref']).toBe('ok');
    const { r, evs } = run(example('thread-2018/08-writeback-put-user-page'));
    expect(of(evs, 'kernel_bug')).toEqual([]);
    expect(kinds(r)).toEqual(['dirty-page-without-buffers', 'kernel-warn', 'lost-write']);
  });

  it('fresh anonymous pages are pinned as they are (exclusive), with the pin bias', () => {
    const { evs } = run(anonPin({ op: 'gup', flags: ['pin', 'longterm'] }));
    expect(of(evs, 'gup_cow')).toEqual([]);
    expect(of(evs, 'dma_ref_get')[0]).toMatchObject({ refs: 1024, pin: true });
  });
});
