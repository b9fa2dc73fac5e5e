/**
 * Regression (fuzz seed 210648, found while hugetlb was being built): mremap with MREMAP_FIXED
 * unmaps its target first, and that unmap split a hugetlb VMA 12 KiB into a huge page; the pieces
 * no longer started at a huge page boundary and a later GUP faulted the wrong huge page forever
 * ([pinsim internal bug] no progress). The kernel's do_munmap() of the target asks
 * hugetlb_vm_op_split() and the mremap fails with EINVAL, changing nothing.
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runScenario } from '../../src/scenario/run/run.js';

it('mremap onto part of a huge page is EINVAL and leaves the hugetlb mapping whole (the fuzzer\'s scenario)', () => {
  const s = JSON.parse(readFileSync(new URL('./hugetlb-mremap-target-split.json', import.meta.url), 'utf8'));
  const r = runScenario(s);
  expect(r.outcome).toBe('pass');
  expect(r.results['a0.2']).toBe('EINVAL');
  expect(r.results['a0.3']).toBe('ok');
});
