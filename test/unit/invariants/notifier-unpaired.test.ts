import { describe, expect, it } from 'vitest';
import { feed } from './fixtures.js';
import type { Co } from '../../../src/engine/actor.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { notifier_unpaired } from '../../../src/invariants/notifier-unpaired.js';
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
  out.push(...feed(notifier_unpaired, evs, { policy: 'linux-6.12' }));
  return out;
}

const start = (id: number, time = 10): MmEventOf<'notifier_start'> =>
  ({ type: 'notifier_start', time, actor: 'app', id, mm: 'p', start: 0x10000000, end: 0x10004000, event: MMU_NOTIFY_UNMAP, blockable: true });
const end = (id: number, time = 20): MmEventOf<'notifier_end'> => ({ type: 'notifier_end', time, actor: 'app', id, mm: 'p' });
const abort = (id: number, time = 15): MmEventOf<'notifier_abort'> => ({ type: 'notifier_abort', time, actor: 'oom_reaper', id, mm: 'p' });
const runEnd = (time = 99): MmEventOf<'run_end'> => ({ type: 'run_end', time, actor: 'kernel', crashed: false });

describe('notifier-unpaired (synthetic trace)', () => {
  it('fires at the end of the run for a start that never ended', () => {
    const r = check([start(1), start(2), end(2), runEnd()]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'notifier-unpaired', time: 99, actor: 'app', pfn: -1 });
    expect(r[0]!.message).toMatch(/range 1, p 0x10000000-0x10004000\) never ended/);
  });

  it('fires for an _end after a failed non-blockable start, with the abort in the chain', () => {
    const r = check([start(1), abort(1), end(1), runEnd()]);
    expect(r).toHaveLength(1);
    expect(r[0]!.message).toMatch(/after its non-blockable start failed/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['notifier_abort', 'notifier_end']);
  });

  it('fires for an _end without any start', () => {
    expect(check([end(5)]).map((v) => v.message)).toEqual(['invalidate_range_end for range 5 without a start']);
  });

  it('does not fire for paired ranges, nor for an aborted start that (correctly) gets no _end', () => {
    expect(check([start(1), start(2), end(1), end(2), start(3), abort(3), runEnd()])).toEqual([]);
  });
});

const BASE = 0x10000000;

function subscribeRefusing(t: TestKernel): void {
  const mm = t.k.create_process('p').mm;
  // A driver whose invalidate refuses every non-blockable range (as mlx5 ODP does).
  const sub = new MmuIntervalNotifier(mm, BASE, 4 * PAGE, {
    *invalidate(_s, r): Co<boolean> {
      return r.flags !== 0;
    },
  }, 'drv');
  expect(mmu_interval_notifier_insert(t.k, sub)).toBe(0);
}

/** The OOM reaper's pattern: start_nonblock, and _end only if the start succeeded (unless @buggy). */
function reap(t: TestKernel, buggy: 'always-end' | 'never-end' | 'correct'): 0 | string {
  const range = mmu_notifier_range_init(t.k, t.k.processes.get('p')!.mm, MMU_NOTIFY_UNMAP, BASE, BASE + 4 * PAGE);
  return t.run((function* () {
    const ret = yield* mmu_notifier_invalidate_range_start_nonblock(t.k, range);
    if (buggy === 'always-end' || (buggy === 'correct' && !ret)) yield* mmu_notifier_invalidate_range_end(t.k, range);
    return ret;
  })(), 'oom_reaper');
}
const withRunEnd = (t: TestKernel) => [...t.events, runEnd(t.k.now)];

describe('notifier-unpaired (the kernel driven directly)', () => {
  it('a refused non-blockable start followed by the caller\'s _end anyway fires', () => {
    const t = makeKernel('6.12');
    subscribeRefusing(t);
    expect(reap(t, 'always-end')).toBe('EAGAIN');
    const r = check(withRunEnd(t));
    expect(r).toHaveLength(1);
    expect(r[0]!.message).toMatch(/after its non-blockable start failed/);
  });

  it('a refused non-blockable start the caller skips (no _end) is correct: no report', () => {
    const t = makeKernel('6.12');
    subscribeRefusing(t);
    expect(reap(t, 'correct')).toBe('EAGAIN');
    expect(t.events.some((e) => e.type === 'notifier_end')).toBe(false);
    expect(check(withRunEnd(t))).toEqual([]);
  });

  it('a successful start whose caller forgets the _end fires when the run ends', () => {
    const t = makeKernel('6.12');
    t.k.create_process('p');
    const range = mmu_notifier_range_init(t.k, t.k.processes.get('p')!.mm, MMU_NOTIFY_UNMAP, BASE, BASE + PAGE);
    expect(t.run(mmu_notifier_invalidate_range_start(t.k, range))).toBe(0);
    expect(check(t.events)).toEqual([]);
    expect(check(withRunEnd(t)).map((v) => v.kind)).toEqual(['notifier-unpaired']);
  });

  it('a blockable start and its _end pair up: no report', () => {
    const t = makeKernel('6.12');
    subscribeRefusing(t);
    const range = mmu_notifier_range_init(t.k, t.k.processes.get('p')!.mm, MMU_NOTIFY_UNMAP, BASE, BASE + PAGE);
    t.run((function* () {
      expect(yield* mmu_notifier_invalidate_range_start(t.k, range)).toBe(0);
      yield* mmu_notifier_invalidate_range_end(t.k, range);
    })());
    expect(check(withRunEnd(t))).toEqual([]);
  });
});

describe('notifier-unpaired (scenario)', () => {
  it('munmap, mprotect, madvise and truncate of notifier-covered memory pair every start with its end', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario({
      name: 'paired', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '16K' } },
      devices: { nic0: { model: 'odp-nic' }, gpu0: { model: 'gpu-hmm' } },
      actors: { app: [
        { op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '16K', as: 'm' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '16K', as: 'w' },
        { op: 'mprotect', addr: 'buf', length: '16K', prot: 'r' },
        { op: 'ftruncate', file: 'f', length: '8K' },
        { op: 'madvise', addr: 'buf', length: '8K', advice: 'dontneed' },
        { op: 'munmap', addr: 'buf', length: '16K' },
      ] },
    }, { trace: (e) => evs.push(e) });
    const starts = evs.filter((e) => e.type === 'notifier_start').length;
    expect(starts).toBeGreaterThanOrEqual(4);
    expect(evs.filter((e) => e.type === 'notifier_end').length).toBe(starts);
    expect(r.violations.map((v) => v.kind)).not.toContain('notifier-unpaired');
  });
});

/**
 * Classic subscribers (struct mmu_notifier): invalidate_range_end is called per subscriber, so a
 * refused non-blockable start can leave some unpaired. @refuses refuses every non-blockable start;
 * @withEnd gives it an invalidate_range_end too (which the API forbids to a start that can fail).
 */
function classic(t: TestKernel, holder: string, refuses: boolean, withEnd = true): void {
  const mm = t.k.processes.get('p')!.mm;
  expect(mmu_notifier_register({
    holder,
    ops: {
      *invalidate_range_start(_s, r): Co<0 | 'EAGAIN'> {
        return refuses && r.flags === 0 ? 'EAGAIN' : 0;
      },
      ...(withEnd ? { *invalidate_range_end(): Co {} } : {}),
    },
  }, mm)).toBe(0);
}

describe('notifier-unpaired: classic subscribers and a refused non-blockable start (the OOM reaper)', () => {
  const twoSubs = (era: '5.12' | '5.13', refuserHasEnd: boolean) => {
    const t = makeKernel(era);
    t.k.create_process('p');
    classic(t, 'kvm', false);
    classic(t, 'drv', true, refuserHasEnd);
    expect(reap(t, 'correct')).toBe('EAGAIN');
    return t;
  };

  it('before 5.13 a subscriber whose start succeeded in a range another refused never gets its _end: it fires at the end of the run', () => {
    const t = twoSubs('5.12', false);
    expect(t.events.some((e) => e.type === 'notifier_sub_end')).toBe(false);
    const r = check(withRunEnd(t));
    expect(r.map((v) => v.message)).toEqual([expect.stringMatching(/kvm's invalidate_range_start for range \d+ .* never got its _end/)]);
  });

  it('from 5.13 every subscriber with an invalidate_range_end gets it after the refusal: kvm is paired, nothing fires', () => {
    const t = twoSubs('5.13', false);
    expect(t.events.filter((e) => e.type === 'notifier_sub_end').map((e) => (e as { holder: string }).holder)).toEqual(['kvm']);
    expect(check(withRunEnd(t))).toEqual([]);
    expect(t.events.some((e) => e.type === 'kernel_warn')).toBe(false);
  });

  it('from 5.13 a refusing subscriber that has an invalidate_range_end gets it after its own failed start: it fires, and the kernel WARNs', () => {
    const t = twoSubs('5.13', true);
    const r = check(withRunEnd(t));
    expect(r.map((v) => v.message)).toEqual([expect.stringMatching(/drv's invalidate_range_end for range \d+ after its own non-blockable start failed/)]);
    expect(t.events.filter((e) => e.type === 'kernel_warn').map((e) => (e as { site: string }).site)).toEqual(['mm/mmu_notifier.c:mn_hlist_invalidate_range_start']);
  });

  it('a blockable range is paired per subscriber in every era: start, then each subscriber\'s _end', () => {
    for (const era of ['5.12', '5.13'] as const) {
      const t = makeKernel(era);
      t.k.create_process('p');
      classic(t, 'kvm', false);
      classic(t, 'drv', true);
      const range = mmu_notifier_range_init(t.k, t.k.processes.get('p')!.mm, MMU_NOTIFY_UNMAP, BASE, BASE + PAGE);
      t.run((function* () {
        expect(yield* mmu_notifier_invalidate_range_start(t.k, range)).toBe(0);
        yield* mmu_notifier_invalidate_range_end(t.k, range);
      })());
      expect(t.events.filter((e) => e.type === 'notifier_sub_end')).toHaveLength(2);
      expect(check(withRunEnd(t))).toEqual([]);
    }
  });
});
