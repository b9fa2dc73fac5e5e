/**
 * linux-4.20 (DESIGN §7b): the kernel of the 2018 thread, as mm/features.ts resolves 4.20 —
 * FOLL_GET references only (get_user_pages_longterm), ib_umem_get with FOLL_WRITE|FOLL_FORCE,
 * writable long-term pins of shared file mappings allowed, fork sharing DMA-referenced anon pages
 * COW, ext4 WARN then BUG on a dirty page without buffers, no mlx5 UMR WARN.
 */
import { describe, expect, it } from 'vitest';
import {
  eraRunner, example, kinds, of, anonPin, filePin, BUFFERLESS, FORCE_WRITE_RO_VMA, FORCED_RO_MR_AFTER_FORK, PINNED_WRITE_PROTECTED, privateFileRoPin, RO_PIN_AFTER_FORK, VMSPLICE_CHILD,
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
  it('a failed zap UMR kills the ODP device without a WARN (the WARN is 2022, 6.0+)', () => {
    const { r, evs } = run(example('odp-nic-umr-failure'));
    expect(of(evs, 'device_dead')).toHaveLength(1);
    expect(of(evs, 'kernel_warn')).toEqual([]);
    expect(r.results['w2']).toBe('device-error');
    expect(kinds(r)).toEqual([]);
  });
});

describe('linux-4.20: anonymous COW by mapcount (reuse_swap_page), before 5.8', () => {
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

describe('linux-4.20: FOLL_FORCE|FOLL_WRITE through faultin_page and FOLL_COW', () => {
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
