/**
 * layout-lease (DESIGN §7b, Ira Weiny's 2019 RFC applied to page-cache files too): a long-term DMA
 * reference to file pages needs a layout lease held by the pinning process (else EPERM; fsdax
 * included, which lifts 4.20's EOPNOTSUPP); truncate or punch-hole of pages so referenced fails with
 * ETXTBSY; unpinned pages and short-term references behave as linux-4.20.
 */
import { describe, expect, it } from 'vitest';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function run(s: unknown, policy = 'layout-lease'): { r: RunResult; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs };
}
const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
const of = <T extends MmTraceEvent['type']>(evs: MmTraceEvent[], type: T) => evs.filter((e): e is MmEventOf<T> => e.type === type);

/** The app maps f shared (16 pages), optionally takes a lease, registers an MR over @mrLength, writes, deregisters. */
function scenario(o: {
  lease?: 'layout' | 'write'; dax?: boolean; mrLength?: string; cut?: unknown; pinner?: 'mr' | 'gup-longterm' | 'gup-short';
}) {
  const app: unknown[] = [{ op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' }];
  if (o.lease) app.push({ op: 'setlease', file: 'f', type: o.lease, as: 'lease' });
  const len = o.mrLength ?? '64K';
  if ((o.pinner ?? 'mr') === 'mr') {
    app.push(
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: len, access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', at: '30us', as: 'w2' },
      { op: 'dereg_mr', mr: 'mr', at: '50us', as: 'dereg' },
    );
  } else {
    const flags = o.pinner === 'gup-longterm' ? ['pin', 'longterm', 'write'] : ['pin', 'write'];
    app.push({ op: 'gup', addr: 'buf', length: len, flags, as: 'mr' }, { op: 'unpin', pins: 'mr', at: '50us', as: 'dereg' });
  }
  return {
    name: 'layout-lease-unit', kernel: { memory: '64M' },
    files: { f: { fs: 'ext4', size: '64K', ...(o.dax ? { dax: true } : {}) } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: { app, ...(o.cut ? { admin: [o.cut] } : {}) },
  };
}
const TRUNCATE = { op: 'ftruncate', file: 'f', length: 0, at: '20us', as: 'cut' };

describe('layout-lease: admission of long-term pins of file pages', () => {
  it('a classic MR on a shared ext4 mapping without a layout lease fails EPERM (linux-4.20 grants it)', () => {
    const { r, evs } = run(scenario({}));
    expect(r.results['mr']).toBe('EPERM');
    expect(of(evs, 'dma_ref_get')).toEqual([]);
    expect(run(scenario({}), 'linux-4.20').r.results['mr']).toBe('ok');
  });

  it('a long-term gup (pin+longterm) without a layout lease fails EPERM too', () => {
    expect(run(scenario({ pinner: 'gup-longterm' })).r.results['mr']).toBe('EPERM');
  });

  it('with a layout lease held by the pinning process the MR is granted and the NIC writes the file', () => {
    const { r, evs } = run(scenario({ lease: 'layout' }));
    expect(r.results['lease']).toBe('ok');
    expect(r.results['mr']).toBe('ok');
    expect(r.results['w2']).toBe('ok');
    expect(of(evs, 'dma_ref_get').every((e) => e.longterm)).toBe(true);
    expect(kinds(r)).toEqual([]);
  });

  it('a write lease is not a layout lease: still EPERM', () => {
    expect(run(scenario({ lease: 'write' })).r.results['mr']).toBe('EPERM');
  });

  it('fsdax: without a layout lease EPERM (instead of 4.20 EOPNOTSUPP); with one the pin is granted', () => {
    expect(run(scenario({ dax: true })).r.results['mr']).toBe('EPERM');
    expect(run(scenario({ dax: true }), 'linux-4.20').r.results['mr']).toBe('EOPNOTSUPP');
    const { r } = run(scenario({ dax: true, lease: 'layout' }));
    expect(r.results['mr']).toBe('ok');
    expect(r.results['w2']).toBe('ok');
  });

  it('a short-term gup (no FOLL_LONGTERM) needs no lease', () => {
    expect(run(scenario({ pinner: 'gup-short' })).r.results['mr']).toBe('ok');
  });
});

describe('layout-lease: truncate and punch-hole of pinned pages', () => {
  it('truncate of pages an MR pins fails ETXTBSY: i_size and the page cache are untouched, the NIC write is not lost', () => {
    const { r, evs } = run(scenario({ lease: 'layout', cut: TRUNCATE }));
    expect(r.results['mr']).toBe('ok');
    expect(r.results['cut']).toBe('ETXTBSY');
    expect(r.ops['cut']!.blockedNs).toBe(0);
    expect(of(evs, 'i_size')).toEqual([]);
    expect(of(evs, 'filemap_remove')).toEqual([]);
    expect(r.results['w2']).toBe('ok');
    expect(kinds(r)).toEqual([]);
  });

  it('punch-hole of pinned pages fails ETXTBSY', () => {
    const punch = { op: 'fallocate', file: 'f', mode: 'punch_hole', offset: 0, length: '16K', at: '20us', as: 'cut' };
    const { r, evs } = run(scenario({ lease: 'layout', cut: punch }));
    expect(r.results['cut']).toBe('ETXTBSY');
    expect(of(evs, 'filemap_remove')).toEqual([]);
  });

  it('truncate of pages the MR does not cover succeeds (the MR pins the first 8K; truncate to 16K)', () => {
    const cut = { op: 'ftruncate', file: 'f', length: '16K', at: '20us', as: 'cut' };
    const { r, evs } = run(scenario({ lease: 'layout', mrLength: '8K', cut }));
    expect(r.results['mr']).toBe('ok');
    expect(r.results['cut']).toBe('ok');
    expect(of(evs, 'i_size').map((e) => e.size)).toEqual([16 * 1024]);
    expect(kinds(r)).toEqual([]);
  });

  it('truncate of a file nothing pins succeeds', () => {
    const s = {
      name: 'no-pin', kernel: { memory: '64M' }, files: { f: { fs: 'ext4', size: '64K' } },
      actors: {
        app: [
          { op: 'mmap', file: 'f', length: '64K', prot: 'rw', flags: ['shared'], as: 'buf' },
          { op: 'store', addr: 'buf', length: '64K', as: 's' },
        ],
        admin: [TRUNCATE],
      },
    };
    const { r } = run(s);
    expect(r.results['cut']).toBe('ok');
    expect(kinds(r)).toEqual([]);
  });

  it('truncate after dereg_mr succeeds: the ETXTBSY lasts only as long as the long-term reference', () => {
    const late = { op: 'ftruncate', file: 'f', length: 0, at: '60us', as: 'cut' };
    const { r } = run(scenario({ lease: 'layout', cut: late }));
    expect(r.results['dereg']).toBe('ok');
    expect(r.results['cut']).toBe('ok');
  });
});
