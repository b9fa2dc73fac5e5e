/**
 * Each device model's invalidation costs the range it covers, never its table's size: with ten
 * times more entries outside the range than in it, the invalidation of the range visits exactly
 * the entries in it (counted by the translation table, not timed). odp-nic and gpu-hmm through an
 * MMU_NOTIFY_UNMAP of the middle of the mapping; gup-nic, which ignores notifiers, through the
 * proposals' actions on the pages a truncate removes (iommu-backstop unmaps their IOVAs,
 * lease-break-dummy redirects them to the dummy page).
 */
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/engine/prng.js';
import type { DeviceInstance, DeviceModel, DeviceParams, MemoryRegion } from '../../../src/devices/device.js';
import type { Dmirror } from '../../../src/devices/gpu-hmm/dmirror.js';
import { gpu_hmm } from '../../../src/devices/gpu-hmm/gpu-hmm.js';
import { gup_nic } from '../../../src/devices/gup-nic/gup-nic.js';
import type { GupMr } from '../../../src/devices/gup-nic/mr.js';
import type { OdpMr } from '../../../src/devices/odp-nic/mlx5_ib.js';
import { odp_nic } from '../../../src/devices/odp-nic/odp-nic.js';
import { cpu_access } from '../../../src/mm/cpu.js';
import { IommuDomain } from '../../../src/mm/iommu.js';
import type { Inode } from '../../../src/mm/fs/inode.js';
import { do_mmap } from '../../../src/mm/mmap.js';
import { MMU_NOTIFY_UNMAP, mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_range_init } from '../../../src/mm/mmu_notifier.js';
import type { KernelPolicy } from '../../../src/mm/policy_ops.js';
import { do_truncate } from '../../../src/mm/truncate.js';
import { iommu_backstop } from '../../../src/policy/iommu-backstop.js';
import { lease_break_dummy } from '../../../src/policy/lease-break-dummy.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';
import { pagesOfType } from '../../helpers/pages.js';

/** Pages in the invalidated range; the table holds 10 × N more outside it. */
const N = 32;
const TOTAL = 11 * N;

function instance(t: TestKernel, model: DeviceModel, name: string, iommu = false): DeviceInstance {
  const params: DeviceParams = {};
  for (const [n, spec] of Object.entries(model.params)) params[n] = spec.default;
  return model.create({ k: t.k, name, params, prng: new Prng(1, `device:${name}`), iommu: iommu ? new IommuDomain(name) : null });
}

/** A private anonymous mapping of TOTAL pages of process p, every page stored to (present). */
function populated(t: TestKernel): number {
  const p = t.k.processes.get('p') ?? t.k.create_process('p');
  const a = t.run(do_mmap(t.k, p.mm, {
    addr: null, length: TOTAL * PAGE, prot: 'rw', shared: false, private: true, fixed: false, populate: false, file: null, offset: 0,
  }, 'anon')) as number;
  t.run(cpu_access(t.k, p.mm, a, TOTAL * PAGE, t.k.new_content('s')));
  return a;
}

/** MMU_NOTIFY_UNMAP of pages [5N, 6N) of the mapping at @a, run to its end. */
function invalidate_middle(t: TestKernel, a: number): void {
  const range = mmu_notifier_range_init(t.k, t.k.processes.get('p')!.mm, MMU_NOTIFY_UNMAP, a + 5 * N * PAGE, a + 6 * N * PAGE);
  t.run((function* () {
    expect(yield* mmu_notifier_invalidate_range_start(t.k, range)).toBe(0);
    yield* mmu_notifier_invalidate_range_end(t.k, range);
  })(), 'unmapper');
}

/** The pages the trace says were unmapped since event @from; and that they came as one event per 512-entry leaf at most. */
function unmapped(t: TestKernel, from: number): number {
  const evs = t.events.slice(from).filter((e) => e.type === 'dev_unmap');
  expect(evs.length).toBeLessThanOrEqual(Math.ceil(N / 512) + 1);
  return pagesOfType(evs, 'dev_unmap').length;
}

describe('the invalidation of a range visits only the entries in it', () => {
  it('odp-nic: mlx5_ib_invalidate_range() over N of 11N mapped pages visits N entries and unmaps exactly them', () => {
    const t = makeKernel('6.12');
    const inst = instance(t, odp_nic, 'nic0');
    const a = populated(t);
    const mr = t.run(inst.reg_mr!(t.k.processes.get('p')!, a, TOTAL * PAGE, 'rw', 'mr')) as MemoryRegion;
    const table = (mr as OdpMr).children.get(0)!.table;
    expect(table.count).toBe(TOTAL);
    const visited = table.visited, from = t.events.length;
    invalidate_middle(t, a);
    expect(table.visited - visited).toBe(N);
    expect(unmapped(t, from)).toBe(N);
    expect(table.count).toBe(TOTAL - N);
    expect(table.lookup((a + 5 * N * PAGE) / PAGE)).toBeNull();
    expect(table.lookup((a + 6 * N * PAGE) / PAGE)).not.toBeNull();
  });

  it('gpu-hmm: dmirror_interval_invalidate() over N of 11N mirrored pages visits N entries and erases exactly them', () => {
    const t = makeKernel('6.12');
    const inst = instance(t, gpu_hmm, 'gpu0');
    const a = populated(t);
    const m = t.run(inst.mirror!(t.k.processes.get('p')!, a, TOTAL * PAGE, 'm')) as MemoryRegion;
    expect(t.run(inst.mirror_op!(m, 'gpu_read', 0, TOTAL * PAGE, 0, 'r')).result).toBe(0);
    const table = (m as Dmirror).table;
    expect(table.count).toBe(TOTAL);
    const visited = table.visited, from = t.events.length;
    invalidate_middle(t, a);
    expect(table.visited - visited).toBe(N);
    expect(unmapped(t, from)).toBe(N);
    expect(table.count).toBe(TOTAL - N);
  });

  /** A classic MR over a shared ext4 file of 11N pages, then a truncate of its last N pages under @policy. */
  function gup_truncate(policy: KernelPolicy, iommu: boolean): { t: TestKernel; mr: GupMr; visited: number; from: number } {
    const t = makeKernel(policy);
    const inst = instance(t, gup_nic, 'nic0', iommu);
    const p = t.k.create_process('p');
    const f: Inode = t.k.create_inode('f', 'ext4', false, TOTAL * PAGE);
    const a = t.run(do_mmap(t.k, p.mm, {
      addr: null, length: TOTAL * PAGE, prot: 'rw', shared: true, private: false, fixed: false, populate: false, file: f, offset: 0,
    }, 'x')) as number;
    t.run(cpu_access(t.k, p.mm, a, TOTAL * PAGE, t.k.new_content('s')));
    const mr = t.run(inst.reg_mr!(p, a, TOTAL * PAGE, 'rw', 'mr')) as GupMr;
    expect(mr.mtt.count).toBe(TOTAL);
    const visited = mr.mtt.visited, from = t.events.length;
    expect(t.run(do_truncate(t.k, f, (TOTAL - N) * PAGE), 'admin')).toBe(0);
    return { t, mr, visited, from };
  }

  it('gup-nic under iommu-backstop: unmapping the IOVAs of N truncated pages of an 11N-page MR visits N MTT entries', () => {
    const { mr, visited } = gup_truncate(iommu_backstop, true);
    expect(mr.mtt.visited - visited).toBe(N);
    expect(mr.mtt.count).toBe(TOTAL); // the MTT keeps its entries; the IOMMU no longer translates them
  });

  it('gup-nic under lease-break-dummy: redirecting N truncated pages of an 11N-page MR visits N MTT entries', () => {
    const { t, mr, visited, from } = gup_truncate(lease_break_dummy, false);
    expect(mr.mtt.visited - visited).toBe(N);
    expect(t.events.slice(from).filter((e) => e.type === 'dummy_redirect')).toHaveLength(N);
    const dummy = t.k.dummy_page();
    expect(mr.mtt.lookup(mr.umem.page_start / PAGE + TOTAL - 1)?.pfn).toBe(dummy);
    expect(mr.mtt.lookup(mr.umem.page_start / PAGE)?.pfn).not.toBe(dummy);
  });
});
