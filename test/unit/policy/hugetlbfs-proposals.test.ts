/**
 * The 2018 proposals act on a long-term pin of any page of a huge page: truncate of a hugetlbfs file
 * finds a reference to a tail page of a huge page it removes (the pin registry keeps one entry per
 * base page; the page cache's entry stands for all the huge page's pages).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../../src/scenario/run/run.js';

/** A classic MR on one 4 KiB page in the middle of the second huge page; truncate removes that huge page. */
const S = {
  name: 'mr-on-a-tail-page',
  kernel: { memory: '64M', hugepages: { '2M': 2 } },
  files: { f: { fs: 'hugetlbfs', size: '4M' } },
  devices: { nic0: { model: 'gup-nic' } },
  actors: {
    app: [
      { op: 'mmap', file: 'f', length: '4M', prot: 'rw', flags: ['shared'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', offset: '3M', length: '4K', access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '300us', as: 'w' },
      { op: 'dereg_mr', mr: 'mr', at: '500us' },
    ],
    admin: [{ op: 'ftruncate', file: 'f', length: '2M', at: '200us', as: 'trunc' }],
  },
};

describe('proposals on a pinned tail page of a truncated huge page', () => {
  it('linux-6.12 orphans the huge page: the NIC\'s write is lost', () => {
    expect(runScenario(S, { policy: 'linux-6.12' }).violations.map((v) => v.kind)).toEqual(['lost-write']);
  });

  it('block-truncate waits for the deregistration', () => {
    const r = runScenario(S, { policy: 'block-truncate' });
    expect(r.violations).toEqual([]);
    expect(r.ops['trunc']?.blockedNs).toBeGreaterThanOrEqual(250_000);
  });

  it('lease-break-dummy redirects the NIC (no lease): its write goes to the dummy page', () => {
    expect(runScenario(S, { policy: 'lease-break-dummy' }).violations.map((v) => v.kind)).toEqual(['dummy-page-dma']);
  });

  it('revoke kills the MR: the write completes device-error', () => {
    const r = runScenario(S, { policy: 'revoke' });
    expect(r.violations).toEqual([]);
    expect(r.results['w']).toBe('device-error');
  });
});
