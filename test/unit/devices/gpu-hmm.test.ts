import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TASK_SIZE } from '../../../src/mm/mmap.js';
import type { MmChainEvent, MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { pagesOfType } from '../../helpers/pages.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import type { RunResult } from '../../../src/scenario/run/result.js';

const PAGE = 4096;

function run(s: unknown, policy = 'linux-6.12'): { r: RunResult; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs };
}

const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
const of = <T extends MmChainEvent['type']>(evs: MmTraceEvent[], type: T) => pagesOfType(evs, type);
function during(evs: MmTraceEvent[], key: string): MmTraceEvent[] {
  const a = evs.findIndex((e) => e.type === 'op_start' && e.name === key);
  const b = evs.findIndex((e) => e.type === 'op_end' && e.name === key);
  return evs.slice(a + 1, b);
}
const stats = (r: RunResult, k: string) => ({ faults: r.ops[k]?.['faults'], cpages: r.ops[k]?.['cpages'] });

const scenario = (ops: unknown[], device: Record<string, unknown> = {}) => ({
  name: 'gpu-unit', kernel: { memory: '64M' }, devices: { gpu0: { model: 'gpu-hmm', ...device } }, actors: { app: ops },
});

describe('gpu-hmm: the mirror', () => {
  it('mirror subscribes one interval notifier over the whole address space; unmirror removes it', () => {
    const { r, evs } = run(scenario([
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'mirror', device: 'gpu0', addr: 'buf', length: '16K', as: 'm' },
      { op: 'unmirror', mirror: 'm', as: 'close' },
      { op: 'unmirror', mirror: 'm', as: 'again' },
      { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'r' },
    ]));
    expect(r.results).toMatchObject({ m: 'ok', close: 'ok', again: 'EINVAL', r: 'EINVAL' });
    const ins = of(evs, 'interval_insert');
    expect(ins).toHaveLength(1);
    expect(ins[0]).toMatchObject({ holder: 'gpu0', start: 0, end: TASK_SIZE });
    expect(of(evs, 'interval_remove')).toHaveLength(1);
    expect(kinds(r)).toEqual([]);
  });

  it('the device table holds no page references: a read over present pages leaves every refcount to the PTEs', () => {
    const { r, evs } = run(scenario([
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '16K', as: 's' },
      { op: 'mirror', device: 'gpu0', addr: 'buf', length: '16K', as: 'm' },
      { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'r' },
    ]));
    expect(r.observed['r']).toBe('s');
    expect(r.stats.pins).toBe(0);
    const maps = of(evs, 'dev_map');
    expect(maps).toHaveLength(4);
    expect(maps.every((e) => !e.holdsRef)).toBe(true);
    const finals = new Map(of(evs, 'frame_final').map((e) => [e.pfn, e]));
    for (const m of maps) expect(finals.get(m.pfn)).toMatchObject({ refcount: 1, mapcount: 1, pincount: 0 });
  });
});

describe('gpu-hmm: dmirror READ/WRITE counters', () => {
  const s = scenario([
    { op: 'mmap', length: '160K', prot: 'rw', flags: ['private'], as: 'buf' },
    { op: 'store', addr: 'buf', length: '160K', as: 's' },
    { op: 'mirror', device: 'gpu0', addr: 'buf', length: '160K', as: 'm' },
    { op: 'gpu_read', mirror: 'm', offset: 0, length: '8K', as: 'head' },
    { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'partial' },
    { op: 'gpu_read', mirror: 'm', offset: 0, length: '160K', as: 'all' },
    { op: 'gpu_read', mirror: 'm', offset: 0, length: '160K', as: 'again' },
  ]);

  it('a READ over a range entirely absent from the device table is one fault round: faults=1, cpages=npages', () => {
    const { r } = run(s);
    expect(stats(r, 'head')).toEqual({ faults: 1, cpages: 2 });
    expect(r.observed['head']).toBe('s');
  });

  it('a READ whose first pages are mirrored copies them, then faults the rest once', () => {
    const { r, evs } = run(s);
    expect(stats(r, 'partial')).toEqual({ faults: 1, cpages: 4 });
    const snaps = of(during(evs, 'app.4'), 'hmm_snapshot');
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.end - snaps[0]!.start).toBe(2 * PAGE);
  });

  it('one fault round walks the rest of the range in 32-page windows, still counted as faults=1', () => {
    const { r, evs } = run(s);
    expect(stats(r, 'all')).toEqual({ faults: 1, cpages: 40 });
    const snaps = of(during(evs, 'app.5'), 'hmm_snapshot').map((e) => (e.end - e.start) / PAGE);
    expect(snaps).toEqual([32, 4]);
    expect(r.observed['all']).toBe('s');
  });

  it('a READ of a fully mirrored range does not fault: faults=0', () => {
    const { r, evs } = run(s);
    expect(stats(r, 'again')).toEqual({ faults: 0, cpages: 40 });
    expect(of(during(evs, 'app.6'), 'hmm_snapshot')).toHaveLength(0);
  });

  it('a WRITE through read-only entries faults them writable (zero page → fresh anon pages) and the CPU sees it', () => {
    const { r } = run(scenario([
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'mirror', device: 'gpu0', addr: 'buf', length: '16K', as: 'm' },
      { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'r' },
      { op: 'gpu_write', mirror: 'm', offset: 0, length: '16K', as: 'w' },
      { op: 'load', addr: 'buf', length: '16K', as: 'cpu' },
      { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'r2' },
    ]));
    expect(r.observed['r']).toBe('zero');
    expect(stats(r, 'w')).toEqual({ faults: 1, cpages: 4 });
    expect(r.observed['cpu']).toBe('w');
    expect(stats(r, 'r2')).toEqual({ faults: 0, cpages: 4 });
    expect(r.observed['r2']).toBe('w');
  });
});

describe('gpu-hmm: shared file mappings', () => {
  it('a WRITE after writeback re-faults (page_mkclean\'s invalidation erased the WRITE entries), so fsync persists the second write', () => {
    const { r, evs } = run({
      name: 'gpu-unit', kernel: { memory: '64M' }, devices: { gpu0: { model: 'gpu-hmm' } },
      files: { f: { fs: 'ext4', size: '8K' } },
      actors: { app: [
        { op: 'mmap', file: 'f', length: '8K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '8K', as: 'm' },
        { op: 'gpu_write', mirror: 'm', offset: 0, length: '8K', as: 'w1' },
        { op: 'fsync', file: 'f' },
        { op: 'gpu_write', mirror: 'm', offset: 0, length: '8K', as: 'w2' },
        { op: 'fsync', file: 'f' },
        { op: 'unmirror', mirror: 'm' },
        { op: 'munmap', addr: 'buf', length: '8K' },
        { op: 'drop_caches' },
        { op: 'pread', file: 'f', offset: 0, length: '8K', as: 'pr' },
      ] },
      expect: { observed: { 'storage:f@0': 'w2', 'storage:f@1': 'w2' } },
    });
    expect(stats(r, 'w1')).toEqual({ faults: 1, cpages: 2 });
    expect(stats(r, 'w2')).toEqual({ faults: 1, cpages: 2 });
    expect(evs.some((e) => e.type === 'notifier_start' && e.event === 'MMU_NOTIFY_PROTECTION_PAGE')).toBe(true);
    expect(r.observed['pr']).toBe('w2');
    expect(r.expectations.failures).toEqual([]);
    expect(kinds(r)).toEqual([]);
  });
});

describe('gpu-hmm: errors', () => {
  it('EFAULT on PROT_NONE and on a hole, EPERM for a write to a read-only VMA, EINVAL for an unaligned range; nothing copied', () => {
    const { r, evs } = run(scenario([
      { op: 'mmap', length: '16K', prot: 'none', flags: ['private'], as: 'none' },
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'holey' },
      { op: 'munmap', addr: 'holey', offset: '8K', length: '4K' },
      { op: 'mmap', length: '16K', prot: 'r', flags: ['private'], as: 'ro' },
      { op: 'mirror', device: 'gpu0', addr: 'none', length: '16K', as: 'mn' },
      { op: 'mirror', device: 'gpu0', addr: 'holey', length: '16K', as: 'mh' },
      { op: 'mirror', device: 'gpu0', addr: 'ro', length: '16K', as: 'mr' },
      { op: 'gpu_read', mirror: 'mn', offset: 0, length: '16K', as: 'prot' },
      { op: 'gpu_write', mirror: 'mh', offset: 0, length: '16K', as: 'hole' },
      { op: 'gpu_write', mirror: 'mr', offset: 0, length: '16K', as: 'rdonly' },
      { op: 'gpu_read', mirror: 'mr', offset: 0, length: '16K', as: 'rdok' },
      { op: 'gpu_read', mirror: 'mr', offset: 100, length: '4K', as: 'unaligned' },
    ]));
    expect(r.results).toMatchObject({ prot: 'EFAULT', hole: 'EFAULT', rdonly: 'EPERM', rdok: 'ok', unaligned: 'EINVAL' });
    for (const k of ['prot', 'hole', 'rdonly', 'unaligned']) expect(stats(r, k).cpages).toBe(0);
    expect(of(evs, 'dma_access').filter((e) => e.write)).toHaveLength(0);
    expect(kinds(r)).toEqual([]);
  });
});

describe('gpu-hmm: SNAPSHOT', () => {
  const hmm22 = JSON.parse(readFileSync(new URL('../../conformance/hmm/HMM-22-snapshot.json', import.meta.url), 'utf8'));

  const snapStep = `app.${(hmm22.actors.app as { as?: string }[]).findIndex((op) => op.as === 'snap')}`;

  it('encodes hmm-tests\' snapshot layout (no VMA, PROT_NONE, zero page, R/O, RW, on this device, on another) as ERROR,ERROR,ZERO|READ,READ,WRITE,DEV_PRIVATE_LOCAL|WRITE,NONE', () => {
    const { r } = run(hmm22);
    expect(r.results['snap']).toBe('ok');
    expect(r.observed['snap']).toBe('ERROR,ERROR,ZERO|READ,READ,WRITE,DEV_PRIVATE_LOCAL|WRITE,NONE');
    expect(stats(r, 'snap')).toEqual({ faults: 0, cpages: 7 });
  });

  it('does not fault: no page is populated and the device table is not filled, under a temporary interval notifier', () => {
    expect(snapStep).not.toBe('app.-1');
    const { evs } = run(hmm22);
    const d = during(evs, snapStep);
    expect(d.some((e) => e.type === 'fault' || e.type === 'pte_set' || e.type === 'dev_map')).toBe(false);
    expect(of(d, 'interval_insert')).toHaveLength(1);
    expect(of(d, 'interval_remove')).toHaveLength(1);
    expect(of(d, 'interval_insert')[0]!.end - of(d, 'interval_insert')[0]!.start).toBe(7 * PAGE);
  });

  it('reports shared file pages as the PTE maps them: a read fault on ext4 (write-notify) maps READ, on tmpfs (no write-notify) WRITE', () => {
    const snap = (fs: string) => run({
      name: 'gpu-unit', kernel: { memory: '64M' }, devices: { gpu0: { model: 'gpu-hmm' } },
      files: { f: { fs, size: '8K' } },
      actors: { app: [
        { op: 'mmap', file: 'f', length: '8K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'load', addr: 'buf', length: '4K', as: 'l' },
        { op: 'store', addr: 'buf', offset: '4K', length: '4K', as: 's' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '8K', as: 'm' },
        { op: 'snapshot', mirror: 'm', offset: 0, length: '8K', as: 'snap' },
      ] },
    }).r.observed['snap'];
    expect(snap('ext4')).toBe('READ,WRITE');
    expect(snap('tmpfs')).toBe('WRITE,WRITE');
  });
});

/** One page written by the GPU while another thread unmaps it and another process takes the freed frame. */
const race = (skipReadRetry: boolean) => scenario([
  { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'buf' },
  { op: 'store', addr: 'buf', length: '4K', as: 's1' },
  { op: 'mirror', device: 'gpu0', addr: 'buf', length: '4K', as: 'm' },
  { op: 'gpu_write', mirror: 'm', offset: 0, length: '4K', at: '10us', as: 'gw' },
], { skipReadRetry });
const withRacers = (s: ReturnType<typeof scenario>) => ({
  ...s,
  actors: {
    ...s.actors,
    unmapper: { process: 'app', ops: [{ op: 'munmap', addr: 'buf', length: '4K', at: '15us', as: 'unmap' }] },
    other: [
      { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], at: '20us', as: 'obuf' },
      { op: 'store', addr: 'obuf', length: '4K', as: 'theirs' },
      { op: 'load', addr: 'obuf', length: '4K', at: '100us', as: 'theysaw' },
    ],
  },
});

describe('gpu-hmm: the read_retry protocol', () => {
  it('skipReadRetry: an munmap during the fault latency goes unnoticed, the stale pfn is installed and the write lands in another process\'s page', () => {
    const { r, evs } = run(withRacers(race(true)));
    expect(r.results['unmap']).toBe('ok');
    expect(r.results['gw']).toBe('ok');
    expect(r.observed['theysaw']).toBe('gw');
    expect(kinds(r)).toEqual(['dma-into-reused-page', 'dma-use-after-free', 'install-during-invalidation']);
    // The invalidation found nothing to erase: the install came after it, from the old snapshot.
    const start = evs.findIndex((e) => e.type === 'notifier_start' && e.event === 'MMU_NOTIFY_UNMAP');
    const map = evs.findIndex((e) => e.type === 'dev_map');
    expect(start).toBeGreaterThan(0);
    expect(map).toBeGreaterThan(start);
    expect((evs[map] as MmEventOf<'dev_map'>).snapSeq).toBeLessThan(start);
  });

  it('the correct driver sees the seq move under its mutex, retries, finds no VMA and fails EFAULT: no violation', () => {
    const { r, evs } = run(withRacers(race(false)));
    expect(r.results['unmap']).toBe('ok');
    expect(r.results['gw']).toBe('EFAULT');
    expect(r.observed['theysaw']).toBe('theirs');
    expect(kinds(r)).toEqual([]);
    expect(of(evs, 'dev_map')).toHaveLength(0);
    expect(of(during(evs, 'app.3'), 'hmm_snapshot')).toHaveLength(1);
  });

  it('ackBeforeDrain: a copy still in flight when the invalidation returns is notifier-teardown-incomplete', () => {
    const mk = (ackBeforeDrain: boolean) => scenario([
        { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '16K', as: 's1' },
        { op: 'mirror', device: 'gpu0', addr: 'buf', length: '16K', as: 'm' },
        { op: 'gpu_read', mirror: 'm', offset: 0, length: '16K', as: 'warm' },
        { op: 'gpu_write', mirror: 'm', offset: 0, length: '16K', at: '100us', as: 'gw' },
      ], { ackBeforeDrain, dmaLatency: '40us' });
    const withUnmap = (s: ReturnType<typeof mk>) => ({
      ...s, actors: { ...s.actors, unmapper: { process: 'app', ops: [{ op: 'munmap', addr: 'buf', length: '16K', at: '105us', as: 'unmap' }] } },
    });
    const lastAccess = (evs: MmTraceEvent[]) => Math.max(...of(evs, 'dma_access').filter((e) => e.wr === 'gw').map((e) => e.time));
    const buggy = run(withUnmap(mk(true)));
    expect(kinds(buggy.r)).toEqual(['dma-use-after-free', 'notifier-teardown-incomplete']);
    expect(buggy.r.ops['unmap']!.end).toBeLessThan(lastAccess(buggy.evs));
    const good = run(withUnmap(mk(false)));
    expect(kinds(good.r)).toEqual([]);
    expect(good.r.results['gw']).toBe('ok');
    // The correct device drains first: munmap's invalidation waits on the mirror mutex for the copy.
    expect(good.r.ops['unmap']!.end).toBeGreaterThanOrEqual(lastAccess(good.evs));
    expect(good.r.ops['unmap']!.blockedNs).toBeGreaterThan(0);
  });
});
