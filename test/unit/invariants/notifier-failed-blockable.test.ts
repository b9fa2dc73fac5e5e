import { describe, expect, it } from 'vitest';
import { feed } from './fixtures.js';
import type { Co } from '../../../src/engine/actor.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { notifier_failed_blockable } from '../../../src/invariants/notifier-failed-blockable.js';
import { MmuIntervalNotifier, mmu_interval_notifier_insert } from '../../../src/mm/mmu_interval_notifier.js';
import {
  MMU_NOTIFY_UNMAP, mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_invalidate_range_start_nonblock,
  mmu_notifier_range_init, mmu_notifier_register,
} from '../../../src/mm/mmu_notifier.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(notifier_failed_blockable, evs, { policy: 'linux-6.12' }));
  return out;
}

const done = (ok: boolean, blockable: boolean, holder = 'drv'): MmEventOf<'notifier_sub_done'> => ({
  type: 'notifier_sub_done', owner: '', time: 500, actor: 'app', id: 3, holder, mm: 'p', start: 0, end: 4 * PAGE, ok, blockable, event: MMU_NOTIFY_UNMAP,
});

describe('notifier-failed-blockable (synthetic trace)', () => {
  it('fires when a subscriber fails a blockable range, naming the subscriber, the mm and the event', () => {
    const r = check([done(false, true)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'notifier-failed-blockable', actor: 'drv', pfn: -1, time: 500 });
    expect(r[0]!.message).toMatch(/drv failed a blockable MMU_NOTIFY_UNMAP of p/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['notifier_sub_done']);
  });

  it('does not fire for a refusal of a non-blockable range (that is allowed) nor for a success', () => {
    expect(check([done(false, false), done(true, true), done(true, false)])).toEqual([]);
  });
});

/** An interval subscriber over [0x10000000, +16K) whose invalidate returns @ok. */
function intervalSub(t: TestKernel, ok: boolean): void {
  const mm = (t.k.processes.get('p') ?? t.k.create_process('p')).mm;
  const sub = new MmuIntervalNotifier(mm, 0x10000000, 4 * PAGE, {
    *invalidate(): Co<boolean> {
      return ok;
    },
  }, 'drv');
  expect(mmu_interval_notifier_insert(t.k, sub)).toBe(0);
}

/** Run one invalidation of the subscriber's range; Return: what _start returned. */
function invalidate(t: TestKernel, blockable: boolean): 0 | string {
  const mm = t.k.processes.get('p')!.mm;
  const range = mmu_notifier_range_init(t.k, mm, MMU_NOTIFY_UNMAP, 0x10000000, 0x10000000 + 4 * PAGE);
  return t.run((function* () {
    const ret = blockable ? yield* mmu_notifier_invalidate_range_start(t.k, range) : yield* mmu_notifier_invalidate_range_start_nonblock(t.k, range);
    if (!ret) yield* mmu_notifier_invalidate_range_end(t.k, range);
    return ret;
  })());
}

describe('notifier-failed-blockable (the kernel driven directly)', () => {
  it('an interval notifier returning false in a blockable range: the kernel WARNs, proceeds to _end, and the checker fires', () => {
    const t = makeKernel('6.12');
    intervalSub(t, false);
    expect(invalidate(t, true)).toBe(0);
    expect(t.events.some((e) => e.type === 'kernel_warn' && e.site === 'mm/mmu_notifier.c:mn_itree_invalidate')).toBe(true);
    expect(t.events.some((e) => e.type === 'notifier_end')).toBe(true);
    const r = check(t.events);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'notifier-failed-blockable', actor: 'drv' });
  });

  it('a classic notifier whose invalidate_range_start fails a blockable range fires as well', () => {
    const t = makeKernel('6.12');
    const mm = t.k.create_process('p').mm;
    expect(mmu_notifier_register({
      holder: 'kvm',
      ops: {
        *invalidate_range_start(): Co<0 | 'EAGAIN'> {
          return 'EAGAIN';
        },
      },
    }, mm)).toBe(0);
    const range = mmu_notifier_range_init(t.k, mm, MMU_NOTIFY_UNMAP, 0, 4 * PAGE);
    t.run((function* () {
      yield* mmu_notifier_invalidate_range_start(t.k, range);
      yield* mmu_notifier_invalidate_range_end(t.k, range);
    })());
    expect(t.events.some((e) => e.type === 'kernel_warn')).toBe(true);
    expect(check(t.events).map((v) => v.actor)).toEqual(['kvm']);
  });

  it('the same refusal in a non-blockable range is legal: the start returns EAGAIN and the checker stays quiet', () => {
    const t = makeKernel('6.12');
    intervalSub(t, false);
    expect(invalidate(t, false)).toBe('EAGAIN');
    expect(t.events.some((e) => e.type === 'notifier_abort')).toBe(true);
    expect(t.events.some((e) => e.type === 'kernel_warn')).toBe(false);
    expect(check(t.events)).toEqual([]);
  });

  it('a subscriber that succeeds in a blockable range does not fire', () => {
    const t = makeKernel('6.12');
    intervalSub(t, true);
    expect(invalidate(t, true)).toBe(0);
    expect(check(t.events)).toEqual([]);
  });
});

describe('notifier-failed-blockable (scenario)', () => {
  it('the built-in ODP NIC and GPU never fail a blockable invalidation (munmap and madvise of mirrored/registered memory)', () => {
    const r = runScenario({
      name: 'no-failed-blockable', kernel: { memory: '64M' },
      devices: { nic0: { model: 'odp-nic' }, gpu0: { model: 'gpu-hmm' } },
      actors: { app: [
        { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '16K', as: 's' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '16K', as: 'm' },
        { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'g' },
        { op: 'madvise', addr: 'buf', length: '8K', advice: 'dontneed' },
        { op: 'munmap', addr: 'buf', length: '16K' },
      ] },
    });
    expect(r.stats.invalidations).toBeGreaterThanOrEqual(2);
    expect(r.violations.map((v) => v.kind)).not.toContain('notifier-failed-blockable');
  });
});
