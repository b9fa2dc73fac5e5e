/**
 * linux-4.20 (DESIGN §7b): the kernel of the 2018 thread, as mm/features.ts resolves 4.20 —
 * FOLL_GET references only (get_user_pages_longterm), ib_umem_get with FOLL_WRITE|FOLL_FORCE,
 * writable long-term pins of shared file mappings allowed, fork sharing DMA-referenced anon pages
 * COW, ext4 WARN then BUG on a dirty page without buffers, no mlx5 UMR WARN.
 */
import { describe, expect, it } from 'vitest';
import {
  eraRunner, example, kinds, of, anonPin, filePin, BUFFERLESS, mapcountCowEra,
} from './era-fixtures.js';

const ERA = 'linux-4.20';
const run = eraRunner(ERA);

describe('linux-4.20: GUP references', () => {
  it('gup pin+longterm is get_user_pages_longterm: a FOLL_GET reference, refcount +1, no pin bias, no pincount', () => {
    const { r, evs } = run(anonPin({ op: 'gup', flags: ['pin', 'longterm', 'write'] }));
    expect(r.results['ref']).toBe('ok');
    const [get] = of(evs, 'dma_ref_get');
    expect(get).toMatchObject({ api: 'get_user_pages_longterm', fnames: 'FOLL_GET|FOLL_LONGTERM|FOLL_WRITE', refs: 1, pin: false, pincount: 0, longterm: true });
    const pte = of(evs, 'pte_set').filter((e) => e.pfn === get!.pfn).at(-1)!;
    expect(get!.refcount).toBe(pte.refcount + 1);
  });

  it('a classic MR asks FOLL_WRITE|FOLL_FORCE even when registered read-only (ib_umem_get before 6.2)', () => {
    const { r, evs } = run(anonPin({ op: 'reg_mr', device: 'nic0', access: 'r' }));
    expect(r.results['ref']).toBe('ok');
    expect(of(evs, 'dma_ref_get')[0]!.fnames).toBe('FOLL_GET|FOLL_LONGTERM|FOLL_WRITE|FOLL_FORCE');
  });

  it('"get"+"longterm" without "pin" is still get_user_pages_longterm (no is_valid_gup_args WARN before 6.4)', () => {
    const { r, evs } = run(anonPin({ op: 'gup', flags: ['get', 'longterm'] }));
    expect(r.results['ref']).toBe('ok');
    expect(of(evs, 'kernel_warn')).toEqual([]);
  });
});

describe('linux-4.20: long-term pins of file mappings', () => {
  it('a writable long-term pin of a shared ext4 mapping is granted (the EFAULT refusal is 6.5)', () => {
    expect(run(filePin('ext4', { op: 'reg_mr', device: 'nic0', access: 'rw' })).r.results['ref']).toBe('ok');
    expect(run(filePin('xfs', { op: 'gup', flags: ['pin', 'longterm', 'write'] })).r.results['ref']).toBe('ok');
  });

  it('a long-term pin of an fsdax mapping is refused with EOPNOTSUPP (get_user_pages_longterm, 4.15)', () => {
    expect(run(filePin('ext4', { op: 'reg_mr', device: 'nic0', access: 'rw' }, true)).r.results['ref']).toBe('EOPNOTSUPP');
  });
});

describe('linux-4.20: fork with a DMA-referenced anonymous page (before 5.9)', () => {
  it('fork shares the MR\'s page copy-on-write; the parent\'s store COWs it away, so the NIC writes the child\'s page', () => {
    const { r } = run(example('thread-2018/09-rdma-fork'));
    expect(r.observed).toMatchObject({ parentsaw: 'parentwrote', childsaw: 'nicwrote' });
    expect(kinds(r)).toEqual(['incoherent-mapping']);
  });
});

describe('linux-4.20: ext4 and a dirty page without buffers', () => {
  it('releasing the reference with dirty WARNs in ext4_dirty_folio, and the next writeback BUGs (before 5.18): the run ends there', () => {
    const { r, evs } = run(BUFFERLESS);
    expect(r.results['put']).toBe('ok');
    expect(r.results['wb2']).toBe('crashed');
    expect(of(evs, 'kernel_warn').map((e) => e.site)).toEqual(['fs/ext4/inode.c:ext4_dirty_folio']);
    expect(of(evs, 'kernel_bug').map((e) => e.site)).toEqual(['fs/ext4/inode.c:mpage_prepare_extent_to_map']);
    expect(of(evs, 'writeback_skip')).toEqual([]);
    expect(kinds(r)).toEqual(['dirty-page-without-buffers', 'kernel-bug', 'kernel-warn']);
  });
});

describe('linux-4.20: mlx5 UMR failure', () => {
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
