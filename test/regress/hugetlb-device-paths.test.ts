/**
 * Regression (fuzz seeds 13665 and 48492, found while hugetlb was being built): make_exclusive on
 * a page of a huge page rewrote one base page's slot of the PMD entry into a device-exclusive
 * entry, and the PTE it later restored named a frame of a huge page freed meanwhile
 * (pte-to-free-frame). The kernel gives device-exclusive access to 4 KiB anonymous pages only, and
 * migrate_vma_setup() refuses a hugetlb VMA (EINVAL) before anything happens.
 */
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

function mirrored(op: Record<string, unknown>) {
  return runScenario({
    name: 'hugetlb-device-paths',
    kernel: { policy: 'linux-6.12', hugepages: { '2M': 2 } },
    devices: { gpu0: { model: 'gpu-hmm' } },
    actors: {
      app: [
        { op: 'mmap', length: '16K', prot: 'rw', flags: ['private', 'hugetlb'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '16K', as: 's' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '12K', as: 'm' },
        { ...op, mirror: 'm', offset: '8K', length: '4K', as: 'x' },
        { op: 'load', addr: 'buf', length: '16K', as: 'cpu' },
        { op: 'pagemap', addr: 'buf', offset: '8K', as: 'map' },
        { op: 'munmap', addr: 'buf', length: '2M', as: 'unmapped' },
      ],
    },
  });
}

it('make_exclusive of a page of a huge page is EBUSY and leaves the PMD entry whole', () => {
  const r = mirrored({ op: 'make_exclusive' });
  expect(r.outcome).toBe('pass');
  expect(r.results['x']).toBe('EBUSY');
  expect(r.observed['map']).toBe('pmd');
  expect(r.observed['cpu']).toBe('s');
  expect(r.results['unmapped']).toBe('ok');
});

it('migrate_to_device of a hugetlb range is EINVAL (migrate_vma_setup refuses the VMA)', () => {
  const r = mirrored({ op: 'migrate_to_device' });
  expect(r.outcome).toBe('pass');
  expect(r.results['x']).toBe('EINVAL');
  expect(r.observed['map']).toBe('pmd');
});
