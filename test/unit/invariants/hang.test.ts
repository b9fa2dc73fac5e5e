import { describe, expect, it } from 'vitest';
import { feed } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { hang } from '../../../src/invariants/hang.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const MS = 1_000_000;

function check(evs: MmTraceEvent[], livenessBound?: number): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(hang, evs, { policy: 'block-truncate', ...(livenessBound !== undefined ? { livenessBound } : {}) }));
  return out;
}

const start = (time: number, name = 'admin.0'): MmEventOf<'op_start'> => ({ type: 'op_start', time, actor: 'admin', op: 'ftruncate', name });
const end = (time: number, blockedNs: number, name = 'admin.0'): MmEventOf<'op_end'> =>
  ({ type: 'op_end', time, actor: 'admin', op: 'ftruncate', name, result: 'ok', blockedNs });
const blocked = (time: number, name = 'admin.0'): MmEventOf<'op_blocked'> =>
  ({ type: 'op_blocked', time, actor: 'admin', op: 'ftruncate', name, since: 20_000, wq: 'pin_registry' });

describe('hang (synthetic trace)', () => {
  it('fires for an op still blocked when the run ends, with its wait queue and its start in the chain', () => {
    const r = check([start(20_000), blocked(5_000_000)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'hang', actor: 'admin', time: 5_000_000 });
    expect(r[0]!.message).toMatch(/admin\.0 \(ftruncate\) is still blocked when the run ends, waiting on pin_registry/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['op_start', 'op_blocked']);
  });

  it('fires for an op that finished but was blocked longer than the liveness bound (1 s by default)', () => {
    expect(check([start(0), end(2_000 * MS, 1_500 * MS)]).map((v) => v.kind)).toEqual(['hang']);
    expect(check([start(0), end(3 * MS, 2 * MS)], 1 * MS).map((v) => v.kind)).toEqual(['hang']);
  });

  it('does not fire for an op blocked up to the bound, nor for one that completed without blocking', () => {
    expect(check([start(0), end(2 * MS, 1 * MS)], 1 * MS)).toEqual([]);
    expect(check([start(0), end(900 * MS, 900 * MS)])).toEqual([]);
    expect(check([start(0), end(10, 0)])).toEqual([]);
  });
});

describe('hang (scenarios)', () => {
  /** block-truncate: a classic MR pins the file; admin truncates at 20 µs; the MR is deregistered at @dereg (or never). */
  const scenario = (dereg: string | null, livenessBound?: string) => ({
    name: 'block-truncate-hang',
    kernel: { memory: '64M', ...(livenessBound ? { livenessBound } : {}) },
    files: { f: { fs: 'ext4', size: '64K' } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: {
      app: [
        { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '64K', access: 'rw', as: 'mr' },
        ...(dereg ? [{ op: 'dereg_mr', mr: 'mr', at: dereg }] : []),
      ],
      admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' }],
    },
  });

  it('block-truncate with an MR never deregistered: the truncate is still blocked at the end of the run', () => {
    const r = runScenario(scenario(null), { policy: 'block-truncate' });
    expect(r.results['cut']).toBe('blocked');
    const v = r.violations.filter((x) => x.kind === 'hang');
    expect(v).toHaveLength(1);
    expect(v[0]!.actor).toBe('admin');
    expect(v[0]!.message).toMatch(/admin\.0 \(ftruncate\) is still blocked/);
  });

  it('a truncate that finishes after being blocked longer than kernel.livenessBound (1 ms; dereg at 2 ms) is a hang', () => {
    const r = runScenario(scenario('2ms', '1ms'), { policy: 'block-truncate' });
    expect(r.results['cut']).toBe('ok');
    expect(r.ops['cut']!.blockedNs).toBeGreaterThan(1 * MS);
    expect(r.violations.map((x) => x.kind)).toEqual(['hang']);
    expect(r.violations[0]!.message).toMatch(/past the liveness bound of 1000000 ns/);
  });

  it('the same wait under the default bound (1 s) is not a hang, and linux-4.20 does not wait at all', () => {
    expect(runScenario(scenario('2ms'), { policy: 'block-truncate' }).violations).toEqual([]);
    const r = runScenario(scenario(null, '1ms'), { policy: 'linux-4.20' });
    expect(r.results['cut']).toBe('ok');
    expect(r.violations.map((x) => x.kind)).not.toContain('hang');
  });
});
