/**
 * lease-break-dummy (DESIGN §7b, the thread's S2): truncate breaks the pinning process's lease, waits
 * up to kernel.leaseBreakTimeout for the long-term references to go, then redirects the device to a
 * dummy page and proceeds; without a lease the redirect is immediate.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const US = 1000, MS = 1_000_000;
const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

function run(s: unknown, policy = 'lease-break-dummy'): { r: RunResult; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs };
}
const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
const of = <T extends MmTraceEvent['type']>(evs: MmTraceEvent[], type: T) => evs.filter((e): e is MmEventOf<T> => e.type === type);

/**
 * A classic MR pins a shared ext4 mapping; admin truncates at 20 µs; the NIC writes again at @w2At.
 * With @handlerDelay the app holds a write lease whose onBreak handler sleeps that long, then
 * deregisters the MR.
 */
function leaseScenario(o: { handlerDelay?: string; w2At: string; timeout?: string }) {
  const app: unknown[] = [
    { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
  ];
  if (o.handlerDelay) {
    app.push({
      op: 'setlease', file: 'f', type: 'write',
      onBreak: [{ op: 'sleep', duration: o.handlerDelay }, { op: 'dereg_mr', mr: 'mr', as: 'handler_dereg' }],
    });
  }
  app.push({ op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: o.w2At, as: 'w2' });
  return {
    name: 'lease-break-dummy-unit',
    kernel: { memory: '64M', ...(o.timeout ? { leaseBreakTimeout: o.timeout } : {}) },
    files: { f: { fs: 'ext4', size: '64K' } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: { app, admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }] },
  };
}

describe('lease-break-dummy: truncate of pages a device holds long-term', () => {
  it('without a lease, truncate redirects the MR to the dummy page at once and the NIC later writes into it (dummy-page-dma)', () => {
    const { r, evs } = run(leaseScenario({ w2At: '30us' }));
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(of(evs, 'lease_break')).toEqual([]);
    expect(of(evs, 'truncate_wait')).toEqual([]);
    const redirects = of(evs, 'dummy_redirect');
    expect(redirects.length).toBe(16); // every page of the 64K MR
    expect(redirects.every((e) => e.time >= 20 * US && e.time <= r.ops['cut']!.end)).toBe(true);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual(['dummy-page-dma']);
  });

  it('with a lease whose handler answers late, truncate breaks it and waits kernel.leaseBreakTimeout (2 ms here) before redirecting', () => {
    const { r, evs } = run(leaseScenario({ handlerDelay: '5ms', w2At: '3ms', timeout: '2ms' }));
    expect(of(evs, 'lease_break')).toHaveLength(1);
    expect(of(evs, 'truncate_wait')).toHaveLength(1);
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBeGreaterThanOrEqual(2 * MS);
    expect(r.ops['cut']!.blockedNs).toBeLessThan(3 * MS);
    const first = of(evs, 'dummy_redirect')[0]!;
    expect(first.time).toBeGreaterThanOrEqual(20 * US + 2 * MS);
    expect(first.time).toBeLessThan(20 * US + 3 * MS);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual(['dummy-page-dma']);
  });

  it('the wait follows kernel.leaseBreakTimeout: 10 ms by default (example 12: the handler needs 20 ms)', () => {
    const { r } = run(example('thread-2018/12-lease-break-handler-too-late'));
    expect(r.ops['admin.0']!.blockedNs).toBeGreaterThanOrEqual(10 * MS);
    expect(r.ops['admin.0']!.blockedNs).toBeLessThan(11 * MS);
    expect(kinds(r)).toEqual(['dummy-page-dma']);
  });

  it('no dummy page when the handler deregisters in time: truncate proceeds once the references go, the NIC is refused', () => {
    const { r, evs } = run(example('thread-2018/11-lease-break-handler-in-time'));
    expect(of(evs, 'lease_break')).toHaveLength(1);
    expect(of(evs, 'dummy_redirect')).toEqual([]);
    expect(r.results['handler_dereg']).toBe('ok');
    expect(r.results['admin.0']).toBe('ok');
    expect(r.ops['admin.0']!.end).toBeLessThanOrEqual(25 * US);
    expect(r.ops['admin.0']!.end).toBeGreaterThanOrEqual(r.ops['handler_dereg']!.start);
    expect(r.results['w2']).toBe('remote-access-error');
    expect(kinds(r)).toEqual([]);
  });

  it('the same in-time handler under linux-4.20 never runs: no lease break, and the NIC write is lost', () => {
    const { r, evs } = run(example('thread-2018/11-lease-break-handler-in-time'), 'linux-4.20');
    expect(of(evs, 'lease_break')).toEqual([]);
    expect(r.results['handler_dereg']).toBeUndefined();
    expect(kinds(r)).toEqual(['lost-write']);
  });

  it('truncate of pages no device holds long-term breaks no lease and redirects nothing, even with a lease held', () => {
    const s = {
      name: 'no-pin', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '64K' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'store', addr: 'buf', length: '4K', as: 's' },
          { op: 'setlease', file: 'f', type: 'write', onBreak: [{ op: 'sleep', duration: '1us', as: 'handler' }] },
        ],
        admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }],
      },
    };
    const { r, evs } = run(s);
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(of(evs, 'lease_break')).toEqual([]);
    expect(r.results['handler']).toBeUndefined();
    expect(of(evs, 'dummy_redirect')).toEqual([]);
    expect(kinds(r)).toEqual([]);
  });
});
