/**
 * linux-6.12 (DESIGN §7b, the default), as mm/features.ts resolves 6.12: FOLL_PIN with the 1024
 * bias, FOLL_LONGTERM only with FOLL_PIN (6.4), ib_umem_get without FOLL_FORCE (6.2), writable
 * long-term pins of dirty-tracked shared file mappings refused with EFAULT (6.5), fork copying
 * pinned anon pages for the child (5.9), ext4 logs and skips instead of BUG (5.18), mlx5 WARN on a
 * bad UMR completion (6.0).
 */
import { describe, expect, it } from 'vitest';
import {
  eraRunner, example, kinds, of, anonPin, filePin, BUFFERLESS, FORCE_WRITE_RO_VMA, FORCED_RO_MR_AFTER_FORK, PINNED_WRITE_PROTECTED, privateFileRoPin, RO_PIN_AFTER_FORK, VMSPLICE_CHILD, RO_PIN_PREVIOUSLY_SHARED,
} from './era-fixtures.js';

const ERA = 'linux-6.12';
const run = eraRunner(ERA);

describe('linux-6.12: GUP references', () => {
  it('gup pin+longterm is pin_user_pages(FOLL_LONGTERM): refcount +GUP_PIN_COUNTING_BIAS (1024), pincount 1', () => {
    const { r, evs } = run(anonPin({ op: 'gup', flags: ['pin', 'longterm', 'write'] }));
    expect(r.results['ref']).toBe('ok');
    const [get] = of(evs, 'dma_ref_get');
    expect(get).toMatchObject({ api: 'pin_user_pages(FOLL_LONGTERM)', fnames: 'FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE', refs: 1024, pin: true, pincount: 1, longterm: true });
    const pte = of(evs, 'pte_set').filter((e) => e.pfn === get!.pfn).at(-1)!;
    expect(get!.refcount).toBe(pte.refcount + 1024);
  });

  it('"get"+"longterm" without "pin" WARNs in is_valid_gup_args and fails EINVAL (6.4)', () => {
    const { r, evs } = run(anonPin({ op: 'gup', flags: ['get', 'longterm'] }));
    expect(r.results['ref']).toBe('EINVAL');
    expect(of(evs, 'kernel_warn').map((e) => e.site)).toEqual(['mm/gup.c:is_valid_gup_args:FOLL_LONGTERM']);
    expect(of(evs, 'dma_ref_get')).toEqual([]);
  });

  it('a read-only classic MR is a read-only pin: no FOLL_WRITE, no FOLL_FORCE (6.2)', () => {
    const { evs } = run(anonPin({ op: 'reg_mr', device: 'nic0', access: 'r' }));
    expect(of(evs, 'dma_ref_get')[0]!.fnames).toBe('FOLL_PIN|FOLL_LONGTERM');
  });
});

describe('linux-6.12: long-term pins of file mappings', () => {
  it('a writable long-term pin of a shared ext4 or xfs mapping is refused with EFAULT, and nothing is referenced', () => {
    for (const [fs, pin] of [['ext4', { op: 'reg_mr', device: 'nic0', access: 'rw' }], ['xfs', { op: 'gup', flags: ['pin', 'longterm', 'write'] }]] as const) {
      const { r, evs } = run(filePin(fs, pin));
      expect(r.results['ref']).toBe('EFAULT');
      expect(of(evs, 'dma_ref_get')).toEqual([]);
    }
  });

  it('a read-only long-term pin of the same mapping, a writable one of tmpfs, and a short-term writable one are granted', () => {
    expect(run(filePin('ext4', { op: 'reg_mr', device: 'nic0', access: 'r' })).r.results['ref']).toBe('ok');
    expect(run(filePin('tmpfs', { op: 'reg_mr', device: 'nic0', access: 'rw' })).r.results['ref']).toBe('ok');
    expect(run(filePin('ext4', { op: 'gup', flags: ['pin', 'write'] })).r.results['ref']).toBe('ok');
  });

  it('a long-term pin of an fsdax mapping is refused with EOPNOTSUPP', () => {
    expect(run(filePin('ext4', { op: 'reg_mr', device: 'nic0', access: 'rw' }, true)).r.results['ref']).toBe('EOPNOTSUPP');
  });
});

describe('linux-6.12: fork with a pinned anonymous page (5.9)', () => {
  it('fork copies the pinned page for the child: the parent keeps the page the NIC writes and sees its data', () => {
    const { r } = run(example('thread-2018/09-rdma-fork'));
    expect(r.observed).toMatchObject({ parentsaw: 'nicwrote', childsaw: 's0' });
    expect(kinds(r)).toEqual([]);
  });
});

describe('linux-6.12: ext4 and a dirty page without buffers', () => {
  it('unpin with dirty WARNs in ext4_dirty_folio; the next writeback logs ext4_warning_inode (no WARN) and skips the page instead of BUG (5.18)', () => {
    const { r, evs } = run(BUFFERLESS);
    expect(r.results['wb2']).toBe('ok');
    expect(of(evs, 'kernel_bug')).toEqual([]);
    expect(of(evs, 'kernel_warn').map((e) => e.site)).toEqual(['fs/ext4/inode.c:ext4_dirty_folio']);
    expect(of(evs, 'writeback_skip')).toHaveLength(1);
    expect(of(evs, 'writeback_skip')[0]).toMatchObject({ file: 'f', index: 0 });
    expect(kinds(r)).toEqual(['dirty-page-without-buffers', 'kernel-warn']);
  });
});

describe('linux-6.12: mlx5 UMR failure', () => {
  it('a failed zap UMR WARNs in mlx5r_umr_post_send_wait (6.0), the UMR QP is recovered, and the MTT keeps the old translation (afterZapFailure "stale")', () => {
    const { r, evs } = run(example('odp-nic-umr-failure'));
    expect(of(evs, 'device_dead')).toEqual([]);
    expect(of(evs, 'kernel_warn').map((e) => e.site)).toEqual(['drivers/infiniband/hw/mlx5/umr.c:mlx5r_umr_post_send_wait']);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual(['dma-into-reused-page', 'dma-use-after-free', 'kernel-warn', 'notifier-teardown-incomplete']);
  });

  it('with afterZapFailure "fatal" (the assumed hardware guarantee) the device stops all DMA: only the WARN is reported', () => {
    const { r, evs } = run(example('odp-nic-umr-failure-fatal'));
    expect(of(evs, 'device_dead')).toHaveLength(1);
    expect(r.results['w2']).toBe('device-error');
    expect(kinds(r)).toEqual(['kernel-warn']);
  });
});

describe('linux-6.12: anonymous COW and R/O pins (5.19, 6.0, 6.2)', () => {
  it('R/O FOLL_PIN of a page fork shared unshares first (5.19): the pin and the parent stay coherent', () => {
    const { r, evs } = run(RO_PIN_AFTER_FORK);
    expect(of(evs, 'gup_cow').map((e) => e.reason)).toEqual(['unshare_anon']);
    expect(r.observed).toMatchObject({ pinread: 'new', childsaw: 'old' });
    expect(kinds(r)).toEqual([]);
  });

  it('a R/O long-term pin of a private file mapping\'s page-cache page unshares into an anonymous copy first (6.2)', () => {
    for (const fs of ['tmpfs', 'ext4'] as const) {
      const { r, evs } = run(privateFileRoPin(fs));
      expect(of(evs, 'gup_cow').map((e) => e.reason)).toEqual(['unshare_longterm_cow']);
      expect(r.observed).toMatchObject({ mem0: 'zero', pinread: 'ff' });
      expect(kinds(r)).toEqual([]);
    }
  });

  it('the pipe of a vmsplice keeps the old data, and a page pinned while exclusive is reused by the write', () => {
    expect(run(VMSPLICE_CHILD).r.observed['piperead']).toBe('old');
    expect(run(PINNED_WRITE_PROTECTED).r.observed['pinread']).toBe('new');
    expect(run(RO_PIN_PREVIOUSLY_SHARED).r.observed['pinread']).toBe('new');
  });

  it('a read-only MR is a R/O pin (6.2): after fork it unshares, so the parent\'s later write stays coherent', () => {
    const { r, evs } = run(FORCED_RO_MR_AFTER_FORK);
    expect(of(evs, 'dma_ref_get')[0]!.fnames).toBe('FOLL_PIN|FOLL_LONGTERM');
    expect(of(evs, 'gup_cow').map((e) => e.reason)).toEqual(['unshare_anon']);
    expect(r.observed).toMatchObject({ nicsaw: 'new', childsaw: 'old' });
  });

  it('without FOLL_COW (6.0) a FOLL_FORCE write of an untouched R/O private page follows the exclusive page after one fault', () => {
    const { r, evs } = run(FORCE_WRITE_RO_VMA);
    expect(r.results['ref']).toBe('ok');
    expect(of(evs, 'fault')).toHaveLength(1);
  });
});
