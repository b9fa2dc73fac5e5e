/** Tiny builders for hugetlb unit tests: a kernel with a pool, hugetlb mappings, their entries. */
import type { KernelPolicy } from '../../src/mm/policy_ops.js';
import { do_mmap, type MmapArgs } from '../../src/mm/mmap.js';
import { pte_pfn, pte_present, type MmStruct } from '../../src/mm/mm_types.js';
import { linux_era } from '../../src/policy/linux-era.js';
import { makeKernel, PAGE, type TestKernel } from './kernel.js';

export const M2 = 2 * 1024 * 1024;
export const G1 = 1024 * 1024 * 1024;

/** hugeKernel() - a kernel of linux-@era with @n2m 2 MiB pool pages (and @n1g 1 GiB ones). */
export function hugeKernel(era: string, n2m: number, opts: { n1g?: number; memory?: number; movable?: number } = {}): TestKernel {
  const policy = linux_era(`linux-${era}`) as KernelPolicy;
  const hugepages = new Map([[9, n2m], [18, opts.n1g ?? 0]]);
  return makeKernel(policy, opts.memory ?? 64 * 1024 * 1024, { hugepages, ...(opts.movable !== undefined ? { movable: opts.movable } : {}) });
}

/** mmapHuge() - mmap with MAP_HUGETLB (private unless @a.shared) and return the address (throws on an errno). */
export function mmapHuge(t: TestKernel, mm: MmStruct, a: Partial<MmapArgs> & { length: number }): number {
  const r = mmapRaw(t, mm, a);
  if (typeof r === 'string') throw new Error(`mmap: ${r}`);
  return r;
}

/** mmapRaw() - the same, returning the errno instead of throwing. */
export function mmapRaw(t: TestKernel, mm: MmStruct, a: Partial<MmapArgs> & { length: number }): number | string {
  return t.run(do_mmap(t.k, mm, {
    addr: null, prot: 'rw', shared: false, private: !a.shared, fixed: false, populate: false, file: null, offset: 0, hugetlb: a.file ? false : true, ...a,
  }, `hugeanon${a.length}`));
}

/** The pfn mapped at @addr of @mm, or -1. */
export function pfnAt(mm: MmStruct, addr: number): number {
  const pte = mm.pgtable.get(Math.floor(addr / PAGE));
  return pte_present(pte) ? pte_pfn(pte) : -1;
}
