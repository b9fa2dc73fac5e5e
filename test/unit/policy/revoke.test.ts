/**
 * revoke (DESIGN §7b, Jason Gunthorpe's "forcibly terminate"): truncate and punch-hole revoke every
 * MR holding a long-term reference on the range (QP to error, references dropped), then proceed;
 * later DMA on it completes device-error, and a DMA in flight stops.
 */
import { describe, expect, it } from 'vitest';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const US = 1000;

function run(s: unknown, policy = 'revoke'): { r: RunResult; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs };
}
const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
const of = <T extends MmTraceEvent['type']>(evs: MmTraceEvent[], type: T) => evs.filter((e): e is MmEventOf<T> => e.type === type);

function scenario(app: unknown[], o: { dmaLatency?: string; cut?: unknown } = {}) {
  return {
    name: 'revoke-unit', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '64K' } },
    devices: { nic0: { model: 'gup-nic', ...(o.dmaLatency ? { dmaLatency: o.dmaLatency } : {}) } },
    actors: { app, admin: [o.cut ?? { op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }] },
  };
}
const MAP = { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' };
const REG = { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' };

describe('revoke: every MR on the truncated page, not only the first', () => {
  it('two MRs (of two NICs) pin the same page: truncate revokes both, and both later writes complete device-error', () => {
    const s = scenario([
      MAP, REG,
      { op: 'reg_mr', device: 'nic1', addr: 'buf', offset: '60K', length: '4K', access: 'rw', as: 'mr1' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', offset: '60K', length: '4K', access: 'rw', as: 'mr2' },
      { op: 'dma_write', mr: 'mr', offset: '60K', length: '4K', at: '30us', as: 'w0' },
      { op: 'dma_write', mr: 'mr1', offset: 0, length: '4K', as: 'w1' },
      { op: 'dma_write', mr: 'mr2', offset: 0, length: '4K', as: 'w2' },
    ]) as { devices: Record<string, unknown> };
    s.devices['nic1'] = { model: 'gup-nic' };
    const { r, evs } = run(s);
    expect(of(evs, 'mr_revoked').map((e) => e.mr).sort()).toEqual(['mr', 'mr1', 'mr2']);
    expect([r.results['w0'], r.results['w1'], r.results['w2']]).toEqual(['device-error', 'device-error', 'device-error']);
    expect(kinds(r)).toEqual([]);
  });
});

describe('revoke: truncate terminates the pinning MR', () => {
  it('truncate revokes the MR and proceeds without waiting; the NIC write after it completes device-error', () => {
    const { r, evs } = run(scenario([
      MAP, REG,
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '10us', as: 'w1' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
      { op: 'dereg_mr', mr: 'mr', at: '50us', as: 'dereg' },
    ]));
    expect(r.results['w1']).toBe('ok');
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(r.ops['cut']!.end).toBeLessThan(30 * US);
    const revoked = of(evs, 'mr_revoked');
    expect(revoked).toHaveLength(1);
    expect(revoked[0]).toMatchObject({ device: 'nic0', mr: 'mr' });
    // The MR's references went with the revoke, before the pages left the page cache.
    const puts = of(evs, 'dma_ref_put');
    expect(puts).toHaveLength(16);
    const firstRemove = of(evs, 'filemap_remove')[0]!;
    expect(puts.every((p) => p.time <= firstRemove.time)).toBe(true);
    expect(r.results['w2']).toBe('device-error');
    expect(of(evs, 'dma_access').filter((a) => a.time > revoked[0]!.time)).toEqual([]);
    expect(r.results['dereg']).toBe('ok');
    expect(kinds(r)).toEqual([]);
  });

  it('an in-flight DMA stops at the revoke: no page access after it, completion device-error', () => {
    // A 64K write over 40 µs posted at 10 µs is still running when truncate comes at 20 µs.
    const { r, evs } = run(scenario([
      MAP, REG,
      { op: 'dma_write', mr: 'mr', offset: 0, length: '64K', at: '10us', as: 'long' },
      { op: 'dereg_mr', mr: 'mr', at: '80us' },
    ], { dmaLatency: '40us' }));
    const t = of(evs, 'mr_revoked')[0]!.time;
    const accesses = of(evs, 'dma_access').filter((a) => a.wr === 'long');
    expect(accesses.length).toBeGreaterThan(0);
    expect(accesses.length).toBeLessThan(16);
    expect(accesses.every((a) => a.time <= t)).toBe(true);
    expect(r.results['long']).toBe('device-error');
    expect(kinds(r)).toEqual([]);
  });

  it('the same in-flight DMA under linux-4.20 runs to the end and its writes after the truncate are lost', () => {
    const { r, evs } = run(scenario([
      MAP, REG,
      { op: 'dma_write', mr: 'mr', offset: 0, length: '64K', at: '10us', as: 'long' },
      { op: 'dereg_mr', mr: 'mr', at: '80us' },
    ], { dmaLatency: '40us' }), 'linux-4.20');
    expect(of(evs, 'dma_access').filter((a) => a.wr === 'long')).toHaveLength(16);
    expect(r.results['long']).toBe('ok');
    expect(kinds(r)).toContain('lost-write');
  });

  it('punch-hole revokes the MR too', () => {
    const punch = { op: 'fallocate', file: 'f', mode: 'punch_hole', offset: 0, length: '16K', at: '20us', as: 'cut' };
    const { r, evs } = run(scenario([
      MAP, REG, { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
    ], { cut: punch }));
    expect(r.results['cut']).toBe('ok');
    expect(of(evs, 'mr_revoked')).toHaveLength(1);
    expect(r.results['w2']).toBe('device-error');
  });

  it('truncate of pages no MR pins revokes nothing (the MR covers only the first 16K; truncate to 32K)', () => {
    const { r, evs } = run(scenario([
      MAP, { ...REG, length: '16K' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
      { op: 'dereg_mr', mr: 'mr', at: '50us' },
    ], { cut: { op: 'ftruncate', file: 'f', length: '32K', at: '20us', as: 'cut' } }));
    expect(r.results['cut']).toBe('ok');
    expect(of(evs, 'mr_revoked')).toEqual([]);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual([]);
  });
});
