import { describe, expect, it } from 'vitest';
import { feed, devMapOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { install_during_invalidation } from '../../../src/invariants/install-during-invalidation.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(install_during_invalidation, evs, { policy: 'linux-6.12' }));
  return out;
}

const VA = 0x10000000;
const start = (id = 1, mm = 'app'): MmEventOf<'notifier_start'> =>
  ({ type: 'notifier_start', time: 10, actor: 'app', id, mm, start: VA, end: VA + 0x4000, event: 'MMU_NOTIFY_UNMAP', blockable: true });
const end = (id = 1): MmEventOf<'notifier_end'> => ({ type: 'notifier_end', time: 20, actor: 'app', id, mm: 'app' });
const abort = (id = 1): MmEventOf<'notifier_abort'> => ({ type: 'notifier_abort', time: 20, actor: 'app', id, mm: 'app' });
/** A device install from a walk that began when the trace held @snapSeq events. */
const map = (snapSeq: number, va = VA, mm = 'app'): MmEventOf<'dev_map'> => devMapOf(30, 'gpu0', mm, va, 9, { snapSeq });

/** @holder's callback for range @id returned; a MIGRATE range carries its owner. */
const subDone = (id: number, owner: string, event = 'MMU_NOTIFY_MIGRATE'): MmEventOf<'notifier_sub_done'> => ({
  type: 'notifier_sub_done', time: 11, actor: 'app', id, holder: 'gpu0', mm: 'app', start: VA, end: VA + 0x4000, ok: true, blockable: true, event, owner,
});
const migrate = (id = 1): MmEventOf<'notifier_start'> => ({ ...start(id), event: 'MMU_NOTIFY_MIGRATE' });

describe('install-during-invalidation: a device\'s own MIGRATE range (dmirror skips it)', () => {
  it('does not fire for the owner\'s install during, or from a snapshot across, its own MIGRATE', () => {
    expect(check([migrate(), subDone(1, 'gpu0'), map(1)])).toEqual([]);
    expect(check([migrate(), subDone(1, 'gpu0'), end(), map(0)])).toEqual([]);
  });
  it('fires for another device\'s MIGRATE, and for the owner\'s install across a range that is not a MIGRATE', () => {
    expect(check([migrate(), subDone(1, 'gpu1'), map(1)])).toHaveLength(1);
    expect(check([start(), subDone(1, 'gpu0', 'MMU_NOTIFY_UNMAP'), end(), map(0)])).toHaveLength(1);
  });
});

describe('install-during-invalidation (synthetic trace)', () => {
  it('fires for an install while an invalidation covering the address is open', () => {
    const r = check([start(), map(1)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'install-during-invalidation', actor: 'gpu0', pfn: 9, time: 30 });
    expect(r[0]!.message).toMatch(/while MMU_NOTIFY_UNMAP \(range 1\) was open/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['notifier_start', 'dev_map']);
  });

  it('fires for an install after the invalidation ended, from a page-table walk that began before it started', () => {
    // The start is the 1st event; the walk began when the trace held 0 events.
    const r = check([start(), end(), map(0)]);
    expect(r).toHaveLength(1);
    expect(r[0]!.message).toMatch(/from a snapshot taken before MMU_NOTIFY_UNMAP .*read_retry would have refused/);
    // The chain shows the invalidation closed before the install: start, end, install.
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['notifier_start', 'notifier_end', 'dev_map']);
  });

  it('does not fire for a walk that began after the invalidation ended', () => {
    expect(check([start(), end(), map(2)])).toEqual([]);
  });

  it('does not fire for an invalidation of another mm or another range', () => {
    expect(check([start(1, 'other'), map(0)])).toEqual([]);
    expect(check([start(), map(0, VA + 0x4000)])).toEqual([]);
  });

  it('an aborted (refused non-blockable) start is closed at its abort', () => {
    expect(check([start(), abort(), map(2)])).toEqual([]);
  });
});

/** The GPU writes one page while another thread of the process unmaps it during the fault latency. */
const race = (skipReadRetry: boolean) => ({
  name: 'read-retry', kernel: { memory: '64M' }, devices: { gpu0: { model: 'gpu-hmm', skipReadRetry } },
  actors: {
    app: [
      { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '4K', as: 's1' },
      { op: 'mirror', device: 'gpu0', addr: 'buf', length: '4K', as: 'm' },
      { op: 'gpu_write', mirror: 'm', offset: 0, length: '4K', at: '10us', as: 'gw' },
    ],
    unmapper: { process: 'app', ops: [{ op: 'munmap', addr: 'buf', length: '4K', at: '15us' }] },
  },
});

describe('install-during-invalidation (scenarios)', () => {
  it.each(['linux-4.20', 'linux-6.12'])('fires under %s for a GPU driver that installs without mmu_interval_read_retry', (policy) => {
    const r = runScenario(race(true), { policy });
    const v = r.violations.filter((x) => x.kind === 'install-during-invalidation');
    expect(v).toHaveLength(1);
    expect(v[0]!.actor).toBe('gpu0');
    // The unmap's invalidation came and went during the fault latency: its start, its end, the install.
    expect(v[0]!.chain.map((c) => c.event)).toEqual(['notifier_start', 'notifier_end', 'dev_map']);
  });

  it('does not fire for the correct driver, which retries and fails EFAULT', () => {
    const r = runScenario(race(false), { policy: 'linux-6.12' });
    expect(r.results['gw']).toBe('EFAULT');
    expect(r.violations.map((x) => x.kind)).not.toContain('install-during-invalidation');
  });

  it('does not fire for an ODP NIC faulting while truncate invalidates the same file page (read_retry honoured)', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario({
      name: 'odp-vs-truncate', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '16K' } },
      devices: { nic0: { model: 'odp-nic' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
          { op: 'dma_write', mr: 'mr', offset: 0, length: '16K', at: '10us', as: 'w' },
        ],
        admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '50us' }],
      },
    }, { policy: 'linux-6.12', trace: (e) => evs.push(e) });
    // The truncate's invalidation lands inside the NIC's fault: after its walk, before its install.
    const walk = evs.findIndex((e) => e.type === 'hmm_snapshot' && e.time >= 10_000);
    const inv = evs.findIndex((e) => e.type === 'notifier_start' && e.time >= 50_000);
    const done = evs.findIndex((e) => e.type === 'dma_complete');
    expect(walk).toBeGreaterThan(0);
    expect(inv).toBeGreaterThan(walk);
    expect(done).toBeGreaterThan(inv);
    expect(evs.some((e) => e.type === 'dev_map' && e.time >= 10_000)).toBe(false);
    expect(r.results['w']).toBe('remote-access-error');
    expect(r.violations.map((x) => x.kind)).toEqual([]);
  });
});
