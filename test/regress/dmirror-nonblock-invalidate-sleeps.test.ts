/**
 * Regression: dmirror's invalidate slept (the device TLB flush delay) after a successful trylock in
 * a non-blockable range, so a correct driver was reported as nonblock-slept.
 */
import { expect, it } from 'vitest';
import type { DeviceParams, MemoryRegion } from '../../src/devices/device.js';
import { gpu_hmm } from '../../src/devices/gpu-hmm/gpu-hmm.js';
import { Prng } from '../../src/engine/prng.js';
import { cpu_access } from '../../src/mm/cpu.js';
import { do_mmap } from '../../src/mm/mmap.js';
import {
  mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start_nonblock, mmu_notifier_range_init, MMU_NOTIFY_UNMAP,
} from '../../src/mm/mmu_notifier.js';
import { makeKernel, PAGE } from '../helpers/kernel.js';
import { pagesOfType } from '../helpers/pages.js';

it('dmirror_interval_invalidate does not sleep in a non-blockable range once it got the mutex by trylock', () => {
  const t = makeKernel('6.12');
  const params: DeviceParams = {};
  for (const [n, spec] of Object.entries(gpu_hmm.params)) params[n] = spec.default;
  const gpu = gpu_hmm.create({ k: t.k, name: 'gpu0', params, prng: new Prng(1, 'device:gpu0'), iommu: null });
  const p = t.k.create_process('p');
  const a = t.run(do_mmap(t.k, p.mm, { addr: null, length: 4 * PAGE, prot: 'rw', shared: false, private: true, fixed: false, populate: false, file: null, offset: 0 }, 'shm')) as number;
  t.run(cpu_access(t.k, p.mm, a, 4 * PAGE, t.k.new_content('s')));
  const m = t.run(gpu.mirror!(p, a, 4 * PAGE, 'm')) as MemoryRegion;
  t.run(gpu.mirror_op!(m, 'gpu_read', 0, 4 * PAGE, -1, 'r'));
  const range = mmu_notifier_range_init(t.k, p.mm, MMU_NOTIFY_UNMAP, a, a + 4 * PAGE);
  const r = t.run((function* () {
    const ret = yield* mmu_notifier_invalidate_range_start_nonblock(t.k, range);
    if (!ret) yield* mmu_notifier_invalidate_range_end(t.k, range);
    return ret;
  })(), 'oom_reaper');
  expect(r).toBe(0);
  expect(t.events.filter((e) => e.type === 'nonblock_slept')).toEqual([]);
  // One dev_unmap of the four pages: the mirror's table is erased under its mutex in one walk.
  expect(pagesOfType(t.events, 'dev_unmap')).toHaveLength(4);
});
