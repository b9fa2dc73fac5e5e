import { describe, expect, it } from 'vitest';
import { feed } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { access_after_release } from '../../../src/invariants/access-after-release.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(access_after_release, evs, { policy: 'linux-6.12' }));
  return out;
}

const released = (holder = 'gpu0', mm = 'app', event = 'MMU_NOTIFY_RELEASE'): MmEventOf<'notifier_sub_done'> => ({
  type: 'notifier_sub_done', owner: '', time: 100, actor: 'app', id: 4, holder, mm, start: 0, end: 0x7ffffffff000, ok: true, blockable: true, event,
});
const access = (device = 'gpu0', mm = 'app', time = 200): MmEventOf<'dma_access'> => ({
  type: 'dma_access', op: 'dma_write', length: 4096, time, actor: device, wr: 'gw', device, mm, va: 0x10000000, pfn: 7, gen: 1, file: '', index: -1,
  write: true, token: 3, ok: true, cpuPfn: -1, cpuToken: -1,
});

describe('access-after-release (synthetic trace)', () => {
  it('fires for a device access to an mm after that device got the mm\'s MMU_NOTIFY_RELEASE', () => {
    const r = check([released(), access()]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'access-after-release', actor: 'gpu0', pfn: 7, time: 200 });
    expect(r[0]!.message).toMatch(/gpu0 wrote pfn 0x7 for app after app's MMU_NOTIFY_RELEASE/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['notifier_sub_done', 'dma_access']);
  });

  it('does not fire for an access before the release, for another mm, or by another device', () => {
    expect(check([access('gpu0', 'app', 50), released()])).toEqual([]);
    expect(check([released(), access('gpu0', 'other'), access('nic0', 'app')])).toEqual([]);
  });

  it('does not fire after an ordinary invalidation (only a release ends the subscription\'s right to access)', () => {
    expect(check([released('gpu0', 'app', 'MMU_NOTIFY_UNMAP'), access()])).toEqual([]);
  });
});

/** A GPU write in flight while another thread of the process dies of SIGSEGV (exit_mmap → release). */
const dying = (ackBeforeDrain: boolean) => ({
  name: 'exit-during-copy', kernel: { memory: '64M' },
  devices: { gpu0: { model: 'gpu-hmm', ackBeforeDrain, dmaLatency: '40us' } },
  actors: {
    app: [
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '16K', as: 's1' },
      { op: 'mirror', device: 'gpu0', addr: 'buf', length: '16K', as: 'm' },
      { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'warm' },
      { op: 'gpu_write', mirror: 'm', offset: 0, length: '16K', at: '100us', as: 'gw' },
    ],
    crasher: { process: 'app', ops: [{ op: 'load', addr: 0x1000, length: '4K', at: '105us', as: 'segv' }] },
  },
});

describe('access-after-release (scenarios)', () => {
  it('fires when a GPU that acknowledges before draining keeps copying after the dying process\'s release', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(dying(true), { trace: (e) => evs.push(e) });
    expect(r.results['segv']).toBe('SIGSEGV');
    expect(evs.some((e) => e.type === 'notifier_sub_done' && e.event === 'MMU_NOTIFY_RELEASE' && e.holder === 'gpu0')).toBe(true);
    const v = r.violations.filter((x) => x.kind === 'access-after-release');
    expect(v.length).toBeGreaterThan(0);
    expect(v[0]!.actor).toBe('gpu0');
  });

  it('does not fire for the correct GPU: the release waits on the mirror mutex until the copy is done', () => {
    const r = runScenario(dying(false));
    expect(r.results['segv']).toBe('SIGSEGV');
    expect(r.violations.map((x) => x.kind)).toEqual([]);
  });

  it('does not fire for an ODP MR of a dead process: a DMA posted on it afterwards completes remote-access-error', () => {
    const r = runScenario({
      name: 'odp-after-exit', kernel: { memory: '64M' }, devices: { nic0: { model: 'odp-nic' } },
      actors: {
        app: [
          { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
          { op: 'store', addr: 'buf', length: '8K', as: 's' },
          { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
          { op: 'dma_read', mr: 'mr', offset: 0, length: '8K', as: 'r1' },
          { op: 'load', addr: 0x1000, length: '4K', at: '200us', as: 'segv' },
        ],
        remote: [{ op: 'dma_write', mr: 'mr', offset: 0, length: '8K', at: '300us', as: 'late' }],
      },
    });
    expect(r.results['r1']).toBe('ok');
    expect(r.results['segv']).toBe('SIGSEGV');
    expect(r.results['late']).toBe('remote-access-error');
    expect(r.violations.map((x) => x.kind)).toEqual([]);
  });
});
