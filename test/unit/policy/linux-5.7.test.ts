/**
 * linux-5.7 (DESIGN §7b), as mm/features.ts resolves 5.7: FOLL_PIN with the 1024 bias and
 * unpin_user_page*(); otherwise 4.20 behaviour — ib_umem_get still forces FOLL_WRITE (6.2), writable
 * long-term pins of shared file mappings allowed (6.5), fork shares pinned anon pages (5.9), ext4
 * BUGs on a dirty page without buffers (5.18), no mlx5 UMR WARN (6.0).
 */
import { describe, expect, it } from 'vitest';
import {
  eraRunner, example, kinds, of, anonPin, filePin, BUFFERLESS, mapcountCowEra,
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
  it('a failed zap UMR is only logged (the WARN and the recovery flow are 6.0+); the MTT keeps the old translation and the NIC writes the reused page', () => {
    const { r, evs } = run(example('odp-nic-umr-failure'));
    expect(of(evs, 'device_dead')).toEqual([]);
    expect(of(evs, 'kernel_warn')).toEqual([]);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual(['dma-into-reused-page', 'dma-use-after-free', 'notifier-teardown-incomplete']);
  });

  it('with afterZapFailure "fatal" the device stops all DMA, without a WARN', () => {
    const { r, evs } = run(example('odp-nic-umr-failure-fatal'));
    expect(of(evs, 'device_dead')).toHaveLength(1);
    expect(of(evs, 'kernel_warn')).toEqual([]);
    expect(r.results['w2']).toBe('device-error');
    expect(kinds(r)).toEqual([]);
  });
});

mapcountCowEra(ERA, run);
