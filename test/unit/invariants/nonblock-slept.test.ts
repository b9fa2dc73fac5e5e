import { describe, expect, it } from 'vitest';
import { feed } from './fixtures.js';
import { delay, type Co } from '../../../src/engine/actor.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { nonblock_slept } from '../../../src/invariants/nonblock-slept.js';
import { Mutex, mutex_lock, mutex_trylock, mutex_unlock } from '../../../src/mm/locking.js';
import { MmuIntervalNotifier, mmu_interval_notifier_insert } from '../../../src/mm/mmu_interval_notifier.js';
import {
  MMU_NOTIFIER_RANGE_BLOCKABLE, MMU_NOTIFY_UNMAP, mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start,
  mmu_notifier_invalidate_range_start_nonblock, mmu_notifier_range_init, type MmuNotifierRange,
} from '../../../src/mm/mmu_notifier.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(nonblock_slept, evs, { policy: 'linux-6.12' }));
  return out;
}

describe('nonblock-slept (synthetic trace)', () => {
  it('fires on a sleep inside a non-blockable range, naming the callback and where it slept', () => {
    const ev: MmEventOf<'nonblock_slept'> = { type: 'nonblock_slept', time: 40, actor: 'oom_reaper', holder: 'gpu0', id: 7, site: 'gpu:invalidate_mutex' };
    const r = check([ev]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'nonblock-slept', actor: 'gpu0', pfn: -1, time: 40 });
    expect(r[0]!.message).toMatch(/gpu0 slept at gpu:invalidate_mutex .*range 7/);
  });

  it('does not fire for a non-blockable callback that returned without sleeping (refused or done)', () => {
    const sub: MmEventOf<'notifier_sub_done'> = {
      type: 'notifier_sub_done', owner: '', time: 40, actor: 'oom_reaper', id: 7, holder: 'gpu0', mm: 'p', start: 0, end: PAGE, ok: false, blockable: false, event: MMU_NOTIFY_UNMAP,
    };
    expect(check([sub, { ...sub, ok: true }])).toEqual([]);
  });
});

const START = 0x10000000;

/** Subscribe an interval notifier with @invalidate over [START, +16K). */
function subscribe(t: TestKernel, invalidate: (r: MmuNotifierRange) => Co<boolean>): void {
  const mm = t.k.create_process('p').mm;
  const sub = new MmuIntervalNotifier(mm, START, 4 * PAGE, { invalidate: (_s, r) => invalidate(r) }, 'drv');
  expect(mmu_interval_notifier_insert(t.k, sub)).toBe(0);
}

function invalidate(t: TestKernel, blockable: boolean): 0 | string {
  const range = mmu_notifier_range_init(t.k, t.k.processes.get('p')!.mm, MMU_NOTIFY_UNMAP, START, START + 4 * PAGE);
  return t.run((function* () {
    const ret = blockable ? yield* mmu_notifier_invalidate_range_start(t.k, range) : yield* mmu_notifier_invalidate_range_start_nonblock(t.k, range);
    if (!ret) yield* mmu_notifier_invalidate_range_end(t.k, range);
    return ret;
  })(), 'oom_reaper');
}

/** A driver that waits for its device's TLB flush whatever the range says (the bug). */
function* sleeper(): Co<boolean> {
  yield* delay(1000, 'drv:tlb_flush_wait');
  return true;
}

describe('nonblock-slept (the kernel driven directly)', () => {
  it('a callback that sleeps in a range from mmu_notifier_invalidate_range_start_nonblock fires', () => {
    const t = makeKernel('6.12');
    subscribe(t, sleeper);
    expect(invalidate(t, false)).toBe(0);
    const slept = t.events.filter((e) => e.type === 'nonblock_slept');
    expect(slept).toHaveLength(1);
    expect(slept[0]).toMatchObject({ holder: 'drv', site: 'drv:tlb_flush_wait' });
    const r = check(t.events);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'nonblock-slept', actor: 'drv' });
  });

  it('the same callback in a blockable range may sleep: no report', () => {
    const t = makeKernel('6.12');
    subscribe(t, sleeper);
    expect(invalidate(t, true)).toBe(0);
    expect(t.k.now).toBeGreaterThanOrEqual(1000);
    expect(check(t.events)).toEqual([]);
  });

  it('the correct pattern (trylock when non-blockable, refuse on contention) never sleeps: no report', () => {
    const t = makeKernel('6.12');
    const lock = new Mutex('drv.lock');
    subscribe(t, function* (r) {
      if (r.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) yield* mutex_lock(lock, 'drv', 'drv:lock');
      else if (!mutex_trylock(lock, 'drv')) return false;
      mutex_unlock(lock);
      return true;
    });
    expect(invalidate(t, false)).toBe(0);
    // With the lock held elsewhere the non-blockable call refuses instead of sleeping.
    expect(mutex_trylock(lock, 'other')).toBe(true);
    expect(invalidate(t, false)).toBe('EAGAIN');
    expect(t.events.some((e) => e.type === 'nonblock_slept')).toBe(false);
    expect(check(t.events)).toEqual([]);
  });
});
