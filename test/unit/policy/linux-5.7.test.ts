/**
 * linux-5.7 (DESIGN §7b), as mm/features.ts resolves 5.7: FOLL_PIN with the 1024 bias and
 * unpin_user_page*(); otherwise 4.20 behaviour — ib_umem_get still forces FOLL_WRITE (6.2), writable
 * long-term pins of shared file mappings allowed (6.5), fork shares pinned anon pages (5.9), ext4
 * BUGs on a dirty page without buffers (5.18), no mlx5 UMR WARN (6.0).
 */
import { describe, expect, it } from 'vitest';
import {
  eraRunner, example, kinds, of, anonPin, filePin, BUFFERLESS, FORCE_WRITE_RO_VMA, FORCED_RO_MR_AFTER_FORK, PINNED_WRITE_PROTECTED, privateFileRoPin, RO_PIN_AFTER_FORK, VMSPLICE_CHILD,
} from './era-fixtures.js';

const ERA = 'linux-5.7';
const run = eraRunner(ERA);

describe('linux-5.7: GUP references', () => {
  it('gup pin+longterm is pin_user_pages(FOLL_LONGTERM): refcount +GUP_PIN_COUNTING_BIAS (1024), pincount 1', () => {
    const { r, evs } = run(anonPin({ op: 'gup', flags: ['pin', 'longterm', 'write'] }));
    expect(r.results['ref']).toBe('ok');
    const [get] = of(evs, 'dma_ref_get');
    expect(get).toMatchObject({ api: 'pin_user_pages(FOLL_LONGTERM)', fnames: 'FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE', refs: 1024, pin: true, pincount: 1, longterm: true });
    const pte = of(evs, 'pte_set').filter((e) => e.pfn === get!.pfn).at(-1)!;
    expect(get!.refcount).toBe(pte.refcount + 1024);
  });

  it('a plain "get" is still a FOLL_GET reference of 1', () => {
    const { evs } = run(anonPin({ op: 'gup', flags: ['get', 'write'] }));
    expect(of(evs, 'dma_ref_get')[0]).toMatchObject({ api: 'get_user_pages', refs: 1, pin: false });
  });

  it('"get" and "pin" in one call WARN in is_valid_gup_args and fail EINVAL', () => {
    const { r, evs } = run(anonPin({ op: 'gup', flags: ['get', 'pin'] }));
    expect(r.results['ref']).toBe('EINVAL');
    expect(of(evs, 'kernel_warn').map((e) => e.site)).toEqual(['mm/gup.c:is_valid_gup_args:FOLL_GET|FOLL_PIN']);
  });

  it('a classic MR still asks FOLL_WRITE|FOLL_FORCE when registered read-only (ib_umem_get before 6.2)', () => {
    const { evs } = run(anonPin({ op: 'reg_mr', device: 'nic0', access: 'r' }));
    expect(of(evs, 'dma_ref_get')[0]!.fnames).toBe('FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE|FOLL_FORCE');
  });
});

describe('linux-5.7: long-term pins of file mappings', () => {
  it('a writable long-term pin of a shared ext4 or xfs mapping is granted (the EFAULT refusal is 6.5)', () => {
    expect(run(filePin('ext4', { op: 'reg_mr', device: 'nic0', access: 'rw' })).r.results['ref']).toBe('ok');
    expect(run(filePin('xfs', { op: 'gup', flags: ['pin', 'longterm', 'write'] })).r.results['ref']).toBe('ok');
  });

  it('a long-term pin of an fsdax mapping is refused with EOPNOTSUPP', () => {
    expect(run(filePin('ext4', { op: 'reg_mr', device: 'nic0', access: 'rw' }, true)).r.results['ref']).toBe('EOPNOTSUPP');
  });
});

describe('linux-5.7: fork with a pinned anonymous page (before 5.9)', () => {
  it('the page is maybe-DMA-pinned (refcount ≥ 1024) yet fork still shares it COW: the NIC writes the child\'s page', () => {
    const { r, evs } = run(example('thread-2018/09-rdma-fork'));
    expect(of(evs, 'dma_ref_get')[0]!.refcount).toBeGreaterThanOrEqual(1024);
    expect(r.observed).toMatchObject({ parentsaw: 'parentwrote', childsaw: 'nicwrote' });
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });
});

describe('linux-5.7: ext4 and a dirty page without buffers', () => {
  it('unpin_user_pages_dirty_lock WARNs in ext4_dirty_folio, and the next writeback BUGs (before 5.18)', () => {
    const { r, evs } = run(BUFFERLESS);
    expect(r.results['wb2']).toBe('crashed');
    expect(of(evs, 'kernel_warn').map((e) => e.site)).toEqual(['fs/ext4/inode.c:ext4_dirty_folio']);
    expect(of(evs, 'kernel_bug').map((e) => e.site)).toEqual(['fs/ext4/inode.c:mpage_prepare_extent_to_map']);
    expect(kinds(r)).toEqual(['dirty-page-without-buffers', 'kernel-bug', 'kernel-warn']);
  });
});

describe('linux-5.7: mlx5 UMR failure', () => {
  it('a failed zap UMR kills the ODP device without a WARN (the WARN is 6.0+)', () => {
    const { r, evs } = run(example('odp-nic-umr-failure'));
    expect(of(evs, 'device_dead')).toHaveLength(1);
    expect(of(evs, 'kernel_warn')).toEqual([]);
    expect(kinds(r)).toEqual([]);
  });
});

describe('linux-5.7: anonymous COW by mapcount (reuse_swap_page), before 5.8', () => {
  it('the parent\'s write reuses the page the child\'s vmsplice holds once the child unmapped it: the pipe sees the new data (CVE-2020-29374)', () => {
    const { r, evs } = run(VMSPLICE_CHILD);
    expect(r.observed['piperead']).toBe('new');
    expect(of(evs, 'cow_copy')).toEqual([]);
  });

  it('a R/O GUP reference takes the page fork shared as it is, and the parent\'s write COWs away from it', () => {
    const { r, evs } = run(RO_PIN_AFTER_FORK);
    expect(of(evs, 'gup_cow')).toEqual([]);
    expect(r.observed['pinread']).toBe('old');
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });

  it('a page pinned R/W and write-protected by mprotect is mapped once, so the write reuses it: coherent', () => {
    expect(run(PINNED_WRITE_PROTECTED).r.observed['pinread']).toBe('new');
  });

  it('a R/O long-term pin of a private file page stays on the page-cache page while the write COWs', () => {
    expect(run(privateFileRoPin('ext4')).r.observed['pinread']).toBe('zero');
  });
});

describe('linux-5.7: FOLL_FORCE|FOLL_WRITE through faultin_page and FOLL_COW', () => {
  it('a forced R/O MR on a R/O VMA after fork breaks COW first (the NIC gets a private copy), then the parent\'s write reuses that copy', () => {
    const { r, evs } = run(FORCED_RO_MR_AFTER_FORK);
    const shared = of(evs, 'pte_set').find((e) => e.mm === 'child')!.pfn;
    expect(of(evs, 'dma_ref_get')[0]!.pfn).not.toBe(shared);
    expect(r.observed).toMatchObject({ nicsaw: 'new', childsaw: 'old' });
    expect(kinds(r)).toEqual([]);
  });

  it('an untouched page of a R/O VMA takes two write faults: do_anonymous_page leaves the PTE clean, do_wp_page dirties it and sets FOLL_COW', () => {
    const { r, evs } = run(FORCE_WRITE_RO_VMA);
    expect(r.results['ref']).toBe('ok');
    expect(of(evs, 'fault').map((e) => e.write)).toEqual([true, true]);
  });
});
