/**
 * mmu_interval_read_begin() waits while an invalidation of its interval is in progress (mm/
 * mmu_notifier.c): a device fault that begins after its own callback has run, while the
 * invalidation is still open, must not walk the page tables until it has ended, or it snapshots
 * PTEs about to be zapped, and its read_retry, against the odd sequence its callback already set,
 * lets the stale snapshot in. The race, made deterministic: two ODP MRs of one NIC over one page
 * of a shared file; truncate's MMU_NOTIFY_CLEAR calls mra's callback (nothing mapped: it returns
 * at once), then mrb's, which zaps for 50 µs; a DMA on mra faults 10 µs into that. Truncate holds
 * no mmap_lock, so only read_begin stands between the fault and the PTE.
 */
import { describe, expect, it } from 'vitest';
import type { MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const scenario = {
  name: 'read-begin-waits-for-invalidation',
  kernel: { policy: 'linux-6.12', memory: '64M' },
  files: { f: { fs: 'ext4', size: '4K' } },
  devices: { nic0: { model: 'odp-nic', invalidateLatency: '50us' } },
  actors: {
    app: [
      { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['shared'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access: 'rw', as: 'mra' },
      { op: 'store', addr: 'buf', length: '4K', as: 's1' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access: 'rw', as: 'mrb' },
      { op: 'dma_write', mr: 'mra', offset: 0, length: '4K', at: '210us', as: 'w' },
    ],
    admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '200us', as: 'cut' }],
  },
};

describe('mmu_interval_read_begin() during an invalidation of its interval', () => {
  it('sleeps until the invalidation ends; the fault then sees the truncate and fails, with nothing stale installed', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(scenario, { trace: (e: MmTraceEvent) => evs.push(e) });
    const start = evs.find((e) => e.type === 'notifier_start')!;
    const end = evs.find((e) => e.type === 'notifier_end')!;
    const wait = evs.find((e) => e.type === 'read_begin_wait' && e.actor === 'nic0');
    expect(wait).toBeDefined();
    expect(wait!.time).toBeGreaterThan(start.time);
    expect(wait!.time).toBeLessThan(end.time);
    // mrb's registration mapped the page before the truncate; nothing is installed after it.
    expect(evs.filter((e) => e.type === 'dev_map' && e.time > start.time)).toEqual([]);
    expect(r.results['w']).toBe('remote-access-error');
    expect(r.violations).toEqual([]);
  });
});
