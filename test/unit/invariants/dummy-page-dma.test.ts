import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { dummy_page_dma } from '../../../src/invariants/dummy-page-dma.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(dummy_page_dma, evs, { policy: 'lease-break-dummy' }));
  return out;
}

const VA = 0x7f0000000000;
const redirect = (time: number, pfn: number, dummy: number, device = 'nic0'): MmEventOf<'dummy_redirect'> =>
  ({ type: 'dummy_redirect', time, actor: device, device, pfn, dummy, mm: 'app', va: VA });
const access = (time: number, pfn: number, write = true, device = 'nic0'): MmEventOf<'dma_access'> => ({
  type: 'dma_access', op: 'dma_write', length: 4096, time, actor: device, wr: 'w2', device, mm: 'app', va: VA, pfn, gen: 1, file: '', index: -1, write, token: 7, ok: true,
  cpuPfn: -1, cpuToken: -1,
});

describe('dummy-page-dma (synthetic trace)', () => {
  it('fires when a device writes the dummy page it was redirected to, naming the real page it replaced', () => {
    const r = check([redirect(20_000, 5, 40), access(30_000, 40)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'dummy-page-dma', pfn: 40, actor: 'nic0', time: 30_000 });
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dummy_redirect', 'dma_access']);
    expect(r[0]!.message).toMatch(/wrote its data into the dummy page \(pfn 0x28\) it was redirected to in place of pfn 0x5/);
  });

  it('fires for a read of the dummy page too', () => {
    expect(check([redirect(20_000, 5, 40), access(30_000, 40, false)]).map((v) => v.kind)).toEqual(['dummy-page-dma']);
  });

  it('does not fire for DMA before the redirect, nor for DMA to other frames after it', () => {
    expect(check([access(10_000, 5), redirect(20_000, 5, 40)])).toEqual([]);
    expect(check([redirect(20_000, 5, 40), access(30_000, 6)])).toEqual([]);
  });
});

describe('dummy-page-dma (scenarios)', () => {
  it('thread-2018/12 under lease-break-dummy: the handler answers after leaseBreakTimeout, the NIC writes the dummy page', () => {
    const evs: MmTraceEvent[] = [];
    const r = runScenario(example('thread-2018/12-lease-break-handler-too-late'), { policy: 'lease-break-dummy', trace: (e) => evs.push(e) });
    const v = r.violations.filter((x) => x.kind === 'dummy-page-dma');
    expect(v).toHaveLength(1);
    const red = evs.find((e): e is MmEventOf<'dummy_redirect'> => e.type === 'dummy_redirect')!;
    expect(v[0]).toMatchObject({ actor: 'nic0', pfn: red.dummy });
    expect(v[0]!.time).toBeGreaterThanOrEqual(r.ops['w2']!.start);
    expect(r.results['w2']).toBe('ok');
  });

  it('thread-2018/11 under lease-break-dummy: the handler deregisters in time, no redirect, nothing fires', () => {
    const r = runScenario(example('thread-2018/11-lease-break-handler-in-time'), { policy: 'lease-break-dummy' });
    expect(r.violations.map((x) => x.kind)).not.toContain('dummy-page-dma');
    expect(r.violations).toEqual([]);
  });

  it('thread-2018/12 under linux-4.20 has no dummy page at all: nothing fires (the write is lost instead)', () => {
    const r = runScenario(example('thread-2018/12-lease-break-handler-too-late'), { policy: 'linux-4.20' });
    expect(r.violations.map((x) => x.kind)).toEqual(['lost-write']);
  });
});
