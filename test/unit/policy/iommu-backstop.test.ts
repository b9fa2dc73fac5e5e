/**
 * iommu-backstop (DESIGN §7b): truncate and punch-hole unmap the IOVAs of pinning devices that sit
 * behind an IOMMU and proceed; their later DMA faults at the IOMMU (remote-access-error), or hangs
 * with pcieErrorHandling "hang"; devices without an IOMMU behave as in linux-4.20.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const US = 1000;
const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

function run(s: unknown, policy = 'iommu-backstop'): { r: RunResult; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs };
}
const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
const of = <T extends MmTraceEvent['type']>(evs: MmTraceEvent[], type: T) => evs.filter((e): e is MmEventOf<T> => e.type === type);

/** A classic MR (nic0, with the given device fields) pins a shared ext4 mapping; truncate at 20 µs; writes at 10 and 30 µs. */
function scenario(device: Record<string, unknown>) {
  return {
    name: 'iommu-backstop-unit', kernel: { memory: '64M', livenessBound: '1ms' }, files: { f: { fs: 'ext4', size: '64K' } },
    devices: { nic0: { model: 'gup-nic', ...device } },
    actors: {
      app: [
        { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '10us', as: 'w1' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
        { op: 'dereg_mr', mr: 'mr', at: '50us', as: 'dereg' },
      ],
      admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }],
    },
  };
}

describe('iommu-backstop', () => {
  it('a device with "iommu": true: truncate unmaps its IOVAs and proceeds; its later DMA faults at the IOMMU (remote-access-error)', () => {
    const { r, evs } = run(scenario({ iommu: true }));
    expect(r.results['w1']).toBe('ok');
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(r.results['w2']).toBe('remote-access-error');
    const faults = of(evs, 'iommu_fault');
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ device: 'nic0', wr: 'w2' });
    expect(faults[0]!.time).toBeGreaterThanOrEqual(30 * US);
    expect(kinds(r)).toEqual([]);
  });

  it('example 13: the read after the faulting write is refused too', () => {
    const { r } = run(example('thread-2018/13-iommu-backstop'));
    expect(r.results['w2']).toBe('remote-access-error');
    expect(r.results['r2']).toBe('remote-access-error');
    expect(kinds(r)).toEqual([]);
  });

  it('a device with pcieErrorHandling "hang" hangs on the IOMMU fault: the write never completes (hang)', () => {
    const { r, evs } = run(scenario({ iommu: true, pcieErrorHandling: 'hang' }));
    expect(r.results['cut']).toBe('ok');
    expect(of(evs, 'iommu_fault')).toHaveLength(1);
    expect(r.results['w2']).toBe('blocked');
    expect(r.results['dereg']).toBe('not-run');
    expect(kinds(r)).toEqual(['hang']);
  });

  it('a device without an IOMMU behaves as under linux-4.20: the NIC writes the orphaned page (lost-write)', () => {
    const s = scenario({});
    const { r, evs } = run(s);
    const base = run(s, 'linux-4.20').r;
    expect(of(evs, 'iommu_fault')).toEqual([]);
    expect(r.results).toEqual(base.results);
    expect(r.observed).toEqual(base.observed);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual(['lost-write']);
    expect(kinds(base)).toEqual(['lost-write']);
  });

  it('an IOMMU without the proposal (linux-4.20) changes nothing: the write is lost', () => {
    const { r, evs } = run(scenario({ iommu: true }), 'linux-4.20');
    expect(of(evs, 'iommu_fault')).toEqual([]);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual(['lost-write']);
  });
});

describe('iommu-backstop: a partial truncate unmaps only the IOVAs of the truncated pages', () => {
  it('truncating the upper half faults the MR\'s DMA there, while the lower half still reaches its pages', () => {
    const s = scenario({ iommu: true }) as { actors: { app: Record<string, unknown>[]; admin: Record<string, unknown>[] } };
    s.actors.admin = [{ op: 'ftruncate', file: 'f', length: '32K', at: '20us', as: 'cut' }];
    s.actors.app.splice(2, 3,
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'low' },
      { op: 'dma_write', mr: 'mr', offset: '60K', length: '4K', as: 'high' },
      { op: 'dereg_mr', mr: 'mr', as: 'dereg' });
    const { r, evs } = run(s);
    expect(r.results['cut']).toBe('ok');
    expect(r.results['low']).toBe('ok');
    expect(r.results['high']).toBe('remote-access-error');
    // Only the eight truncated pages lost their IOVAs.
    expect(of(evs, 'iommu_fault')).toHaveLength(1);
    expect(kinds(r)).toEqual([]);
  });
});
