import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/engine/prng.js';
import type { DeviceInstance, DeviceParams, MemoryRegion } from '../../../src/devices/device.js';
import { odp_nic } from '../../../src/devices/odp-nic/odp-nic.js';
import { cpu_access } from '../../../src/mm/cpu.js';
import { IS_ERR } from '../../../src/mm/errno.js';
import { do_mmap } from '../../../src/mm/mmap.js';
import {
  MMU_NOTIFY_UNMAP, mmu_notifier_invalidate_range_end, mmu_notifier_invalidate_range_start, mmu_notifier_invalidate_range_start_nonblock,
  mmu_notifier_range_init,
} from '../../../src/mm/mmu_notifier.js';
import type { MmChainEvent, MmChainEventOf, MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { pagesOf, pagesOfType } from '../../helpers/pages.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

const US = 1000;
const DEFAULTS = { dmaLatency: 1 * US, faultLatency: 100 * US, invalidateLatency: 10 * US };

/** Run @s under @policy and keep its trace. */
function run(s: unknown, policy = 'linux-6.12'): { r: RunResult; evs: MmTraceEvent[] } {
  const evs: MmTraceEvent[] = [];
  const r = runScenario(s, { policy, trace: (e) => evs.push(e) });
  return { r, evs };
}

const kinds = (r: RunResult) => [...new Set(r.violations.map((v) => v.kind))].sort();
const duration = (r: RunResult, k: string) => (r.ops[k]!.end - r.ops[k]!.start);
const of = <T extends MmChainEvent['type']>(evs: MmTraceEvent[], type: T, device = 'nic0') =>
  pagesOf(evs).filter((e): e is MmChainEventOf<T> => e.type === type && (!('device' in e) || e.device === device) && (!('holder' in e) || e.holder === device));
/** Events strictly between the op_start and op_end of op @key. */
function during(evs: MmTraceEvent[], key: string): MmTraceEvent[] {
  const a = evs.findIndex((e) => e.type === 'op_start' && e.name === key);
  const b = evs.findIndex((e) => e.type === 'op_end' && e.name === key);
  return evs.slice(a + 1, b);
}

const scenario = (ops: unknown[], device: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name: 'odp-unit', kernel: { memory: '64M' }, devices: { nic0: { model: 'odp-nic', ...device } }, actors: { app: ops }, ...extra,
});

/** A bare kernel with the ODP NIC instantiated directly (no scenario runner). */
function direct(t: TestKernel): { inst: DeviceInstance; mmap(pages: number): number } {
  const params: DeviceParams = {};
  for (const [n, spec] of Object.entries(odp_nic.params)) params[n] = spec.default;
  const inst = odp_nic.create({ k: t.k, name: 'nic0', params, prng: new Prng(1, 'device:nic0'), iommu: null });
  return {
    inst,
    mmap(pages) {
      const p = t.k.processes.get('p') ?? t.k.create_process('p');
      const a = t.run(do_mmap(t.k, p.mm, {
        addr: null, length: pages * PAGE, prot: 'rw', shared: false, private: true, fixed: false, populate: false, file: null, offset: 0,
      }, 'shmem'));
      if (IS_ERR(a)) throw new Error(a);
      return a;
    },
  };
}

describe('odp-nic: an ODP MR holds no page reference', () => {
  it('reg_mr maps the present pages without changing a refcount, and a faulting DMA adds only the CPU PTE\'s reference', () => {
    const t = makeKernel('6.12');
    const { inst, mmap } = direct(t);
    const a = mmap(4);
    const mm = t.k.processes.get('p')!.mm;
    t.run(cpu_access(t.k, mm, a, 2 * PAGE, t.k.new_content('s')));
    const present = t.events.filter((e): e is MmEventOf<'pte_set'> => e.type === 'pte_set').map((e) => e.pfn);
    expect(present).toHaveLength(2);
    const before = present.map((pfn) => t.k.mem._refcount[pfn]);
    expect(before).toEqual([1, 1]);

    const mr = t.run(inst.reg_mr!(t.k.processes.get('p')!, a, 4 * PAGE, 'rw', 'mr')) as MemoryRegion;
    expect(IS_ERR(mr)).toBe(false);
    expect(present.map((pfn) => t.k.mem._refcount[pfn])).toEqual(before);
    // The registration snapshot maps exactly the two present pages, holding no reference.
    const maps = pagesOfType(t.events, 'dev_map');
    expect(maps.map((e) => e.pfn).sort()).toEqual([...present].sort());
    expect(maps.every((e) => !e.holdsRef)).toBe(true);
    expect(t.events.some((e) => e.type === 'interval_insert' && e.holder === 'nic0')).toBe(true);

    // A DMA over all four pages faults the two absent ones in (write fault: fresh anon pages).
    const r = t.run(inst.dma!({ mr, write: true, offset: 0, length: 4 * PAGE, token: t.k.new_content('w'), wr: 'w' }));
    expect(r.status).toBe('ok');
    const all = pagesOfType(t.events, 'dev_map').map((e) => e.pfn);
    expect(new Set(all).size).toBe(4);
    for (const pfn of all) {
      expect(t.k.mem._refcount[pfn]).toBe(1); // the PTE's reference only
      expect(t.k.mem._mapcount[pfn]).toBe(1);
      expect(t.k.mem._pincount[pfn]).toBe(0);
    }
    expect(t.events.some((e) => e.type === 'dma_ref_get')).toBe(false);
    expect(t.k.pins.live.size).toBe(0);
  });

  it('under every era a registered, faulting, deregistered ODP MR takes no DMA reference and leaks nothing', () => {
    for (const policy of ['linux-4.20', 'linux-6.12']) {
      const { r, evs } = run(scenario([
        { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '16K', as: 'w' },
        { op: 'dma_read', mr: 'mr', offset: 0, length: '16K', as: 'r' },
        { op: 'dereg_mr', mr: 'mr' },
      ]), policy);
      expect(r.results['w']).toBe('ok');
      expect(r.observed['r']).toBe('w');
      expect(r.stats.pins).toBe(0);
      expect(kinds(r)).toEqual([]);
      expect(of(evs, 'dev_map')).toHaveLength(4);
      expect(of(evs, 'dev_unmap')).toHaveLength(4);
    }
  });
});

describe('odp-nic: invalidate', () => {
  function registered(t: TestKernel) {
    const { inst, mmap } = direct(t);
    const a = mmap(2);
    const p = t.k.processes.get('p')!;
    t.run(cpu_access(t.k, p.mm, a, 2 * PAGE, t.k.new_content('s')));
    const mr = t.run(inst.reg_mr!(p, a, 2 * PAGE, 'rw', 'mr')) as MemoryRegion;
    expect(pagesOfType(t.events, 'dev_map')).toHaveLength(2);
    return { a, range: mmu_notifier_range_init(t.k, p.mm, MMU_NOTIFY_UNMAP, a, a + 2 * PAGE), mr };
  }

  it('refuses a non-blockable range (mlx5_ib_invalidate_range): the start fails EAGAIN and the MTTs stay', () => {
    const t = makeKernel('6.12');
    const { range } = registered(t);
    const ret = t.run((function* () {
      return yield* mmu_notifier_invalidate_range_start_nonblock(t.k, range);
    })(), 'oom_reaper');
    expect(ret).toBe('EAGAIN');
    expect(t.events.some((e) => e.type === 'notifier_abort')).toBe(true);
    expect(t.events.some((e) => e.type === 'dev_unmap' || e.type === 'nonblock_slept')).toBe(false);
  });

  it('a blockable range takes umem_mutex, zaps with one UMR and unmaps every MTT of the range before returning', () => {
    const t = makeKernel('6.12');
    const { range } = registered(t);
    const t0 = t.k.now;
    t.run((function* () {
      expect(yield* mmu_notifier_invalidate_range_start(t.k, range)).toBe(0);
      yield* mmu_notifier_invalidate_range_end(t.k, range);
    })());
    const done = t.events.findIndex((e) => e.type === 'notifier_sub_done');
    const unmaps = t.events.map((e, i) => [e, i] as const).filter(([e]) => e.type === 'dev_unmap');
    // One walk of the range under umem_mutex: one dev_unmap of both pages, before the callback returns.
    expect(unmaps).toHaveLength(1);
    expect(pagesOfType(t.events, 'dev_unmap')).toHaveLength(2);
    expect(unmaps.every(([, i]) => i < done)).toBe(true);
    expect(t.k.now - t0).toBeGreaterThanOrEqual(DEFAULTS.invalidateLatency);
  });
});

describe('odp-nic: device page faults', () => {
  const FAULT = 50 * US;
  const s = scenario([
    { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
    { op: 'dma_write', mr: 'mr', offset: 0, length: '16K', as: 'w1' },
    { op: 'dma_write', mr: 'mr', offset: 0, length: '16K', as: 'w2' },
    { op: 'load', addr: 'buf', length: '16K', as: 'cpu' },
  ], { faultLatency: '50us' });

  it('a DMA over four unmapped pages takes one fault round (one hmm_range_fault over the rest of the DMA): faultLatency once, then one UMR (invalidateLatency) under umem_mutex', () => {
    const { r, evs } = run(s);
    expect(r.results['w1']).toBe('ok');
    const snaps = of(during(evs, 'app.2'), 'hmm_snapshot');
    expect(snaps).toHaveLength(1);
    expect(snaps[0]!.end - snaps[0]!.start).toBe(4 * PAGE);
    expect(duration(r, 'w1')).toBeGreaterThanOrEqual(FAULT + DEFAULTS.invalidateLatency);
    expect(duration(r, 'w1')).toBeLessThan(FAULT + DEFAULTS.invalidateLatency + 10 * US);
    expect(r.observed['cpu']).toBe('w2');
  });

  it('the next DMA over the same pages finds its MTTs populated: no fault, dmaLatency only', () => {
    const { r, evs } = run(s);
    expect(r.results['w2']).toBe('ok');
    expect(of(during(evs, 'app.3'), 'hmm_snapshot')).toHaveLength(0);
    expect(duration(r, 'w2')).toBe(DEFAULTS.dmaLatency);
  });

  it('a DMA into a hole of the address space faults and completes remote-access-error', () => {
    const { r } = run(scenario([
      { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
      { op: 'munmap', addr: 'buf', offset: '8K', length: '8K' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'ok' },
      { op: 'dma_write', mr: 'mr', offset: '8K', length: '4K', as: 'hole' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '32K', as: 'beyond' },
    ]));
    expect(r.results['ok']).toBe('ok');
    expect(r.results['hole']).toBe('remote-access-error');
    expect(r.results['beyond']).toBe('remote-access-error');
    expect(kinds(r)).toEqual([]);
  });
});

describe('odp-nic: access rights', () => {
  const s = scenario([
    { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
    { op: 'store', addr: 'buf', length: '16K', as: 's' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'r', as: 'mr' },
    { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w' },
    { op: 'dma_read', mr: 'mr', offset: 0, length: '16K', as: 'r' },
    { op: 'load', addr: 'buf', length: '16K', as: 'cpu' },
    { op: 'advise_mr', mr: 'mr', advice: 'prefetch_write', offset: 0, length: '4K', as: 'pw' },
    { op: 'advise_mr', mr: 'mr', advice: 'prefetch', offset: '12K', length: '8K', as: 'outside' },
    { op: 'advise_mr', mr: 'mr', advice: 'prefetch', offset: 0, length: '16K', as: 'inside' },
  ]);

  it('a DMA write through a read-only MR completes remote-access-error and changes nothing', () => {
    const { r, evs } = run(s);
    expect(r.results['w']).toBe('remote-access-error');
    expect(evs.some((e) => e.type === 'dma_access' && e.write)).toBe(false);
    expect(r.results['r']).toBe('ok');
    expect(r.observed['r']).toBe('s');
    expect(r.observed['cpu']).toBe('s');
  });

  it('advise_mr: PREFETCH_WRITE on a read-only MR is EPERM, a range beyond the MR is EFAULT, PREFETCH inside is 0', () => {
    const { r } = run(s);
    expect(r.results['pw']).toBe('EPERM');
    expect(r.results['outside']).toBe('EFAULT');
    expect(r.results['inside']).toBe('ok');
  });

  it('a DMA on a deregistered MR completes remote-access-error, its interval notifier removed and its MTTs unmapped', () => {
    const { r, evs } = run(scenario([
      { op: 'mmap', length: '8K', prot: 'rw', flags: ['private', 'populate'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
      { op: 'dereg_mr', mr: 'mr' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '8K', as: 'r' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'w' },
      { op: 'dereg_mr', mr: 'mr' },
    ]));
    expect(r.results['app.2']).toBe('ok');
    expect(r.results['r']).toBe('remote-access-error');
    expect(r.results['w']).toBe('remote-access-error');
    expect(r.results['app.5']).toBe('EINVAL');
    expect(of(evs, 'interval_remove')).toHaveLength(1);
    expect(of(evs, 'dev_map')).toHaveLength(2);
    expect(of(evs, 'dev_unmap')).toHaveLength(2);
    expect(evs.some((e) => e.type === 'dma_access')).toBe(false);
  });
});

describe('odp-nic: the MR follows the CPU page tables', () => {
  it('mprotect(PROT_READ) zaps the MTTs; the writable MR\'s next fault asks for write access, so a DMA read fails too, and RW restores both', () => {
    const { r } = run(scenario([
      { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'w1' },
      { op: 'mprotect', addr: 'buf', length: '8K', prot: 'r', as: 'ro' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '8K', as: 'r' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'w2' },
      { op: 'load', addr: 'buf', length: '8K', as: 'cpu' },
      { op: 'mprotect', addr: 'buf', length: '8K', prot: 'rw', as: 'rw' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'w3' },
      { op: 'load', addr: 'buf', length: '8K', as: 'cpu3' },
    ]));
    expect(r.results).toMatchObject({ ro: 'ok', r: 'remote-access-error', w2: 'remote-access-error', rw: 'ok', w3: 'ok' });
    expect(r.observed).toMatchObject({ cpu: 'w1', cpu3: 'w3' });
    expect(kinds(r)).toEqual([]);
  });

  it.each(['ext4', 'xfs'])('a DMA write after writeback of a shared %s mapping re-faults (page_mkclean invalidated the MTT), so the page is dirty again and fsync persists it', (fs) => {
    const { r, evs } = run(scenario([
      { op: 'mmap', file: 'f', length: '8K', prot: 'rw', flags: ['shared'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'w1' },
      { op: 'fsync', file: 'f' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'w2' },
      { op: 'fsync', file: 'f' },
      { op: 'dereg_mr', mr: 'mr' },
      { op: 'munmap', addr: 'buf', length: '8K' },
      { op: 'drop_caches' },
      { op: 'pread', file: 'f', offset: 0, length: '8K', as: 'pr' },
    ], {}, { files: { f: { fs, size: '8K' } }, expect: { observed: { 'storage:f@0': 'w2', 'storage:f@1': 'w2' } } }));
    expect(evs.some((e) => e.type === 'notifier_start' && e.event === 'MMU_NOTIFY_PROTECTION_PAGE')).toBe(true);
    expect(duration(r, 'w2')).toBeGreaterThanOrEqual(DEFAULTS.faultLatency);
    expect(r.observed['pr']).toBe('w2');
    expect(r.expectations.failures).toEqual([]);
    expect(kinds(r)).toEqual([]);
  });
});

describe('odp-nic: advise_mr prefetch', () => {
  const s = scenario([
    { op: 'mmap', length: '16K', prot: 'rw', flags: ['private'], as: 'buf' },
    { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '16K', access: 'rw', as: 'mr' },
    { op: 'store', addr: 'buf', offset: 0, length: '4K', as: 's0' },
    { op: 'store', addr: 'buf', offset: '8K', length: '4K', as: 's2' },
    { op: 'advise_mr', mr: 'mr', advice: 'prefetch_no_fault', offset: 0, length: '16K', as: 'nf' },
    { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'r0' },
    { op: 'dma_read', mr: 'mr', offset: '8K', length: '4K', as: 'r2' },
    { op: 'dma_read', mr: 'mr', offset: '4K', length: '4K', as: 'r1' },
    { op: 'advise_mr', mr: 'mr', advice: 'prefetch_write', offset: '12K', length: '4K', as: 'pw' },
    { op: 'dma_write', mr: 'mr', offset: '12K', length: '4K', as: 'w3' },
    { op: 'load', addr: 'buf', offset: '12K', length: '4K', as: 'cpu3' },
  ]);

  it('PREFETCH_NO_FAULT maps exactly the pages present in the CPU page table, without faulting any in', () => {
    const { r, evs } = run(s);
    expect(r.results['nf']).toBe('ok');
    const d = during(evs, 'app.4');
    const base = Math.min(...of(evs, 'interval_insert').map((e) => e.start));
    expect(of(d, 'dev_map').map((e) => (e.va - base) / PAGE)).toEqual([0, 2]);
    expect(d.some((e) => e.type === 'fault')).toBe(false);
  });

  it('after PREFETCH_NO_FAULT the present pages DMA without a fault and an absent one still faults', () => {
    const { r } = run(s);
    expect(duration(r, 'r0')).toBe(DEFAULTS.dmaLatency);
    expect(duration(r, 'r2')).toBe(DEFAULTS.dmaLatency);
    expect(duration(r, 'r1')).toBeGreaterThanOrEqual(DEFAULTS.faultLatency);
    expect(r.observed).toMatchObject({ r0: 's0', r2: 's2', r1: 'zero' });
  });

  it('PREFETCH_WRITE faults the page in writable, so the DMA write that follows does not fault and the CPU sees it', () => {
    const { r } = run(s);
    expect(r.results['pw']).toBe('ok');
    expect(duration(r, 'pw')).toBeGreaterThanOrEqual(DEFAULTS.faultLatency);
    expect(duration(r, 'w3')).toBe(DEFAULTS.dmaLatency);
    expect(r.observed['cpu3']).toBe('w3');
  });
});

describe('odp-nic: the fault under umem_mutex', () => {
  it('a munmap that starts while a fault waits for its UMR blocks on umem_mutex until the UMR completes, then zaps; nothing is installed during it', () => {
    const ex = JSON.parse(readFileSync(new URL('../../../examples/odp-nic-invalidate-waits-for-fault.json', import.meta.url), 'utf8'));
    const { r, evs } = run(ex);
    expect(r.expectations.met).toBe(true);
    const start = evs.find((e) => e.type === 'notifier_start' && e.actor === 'admin')!;
    const maps = pagesOfType(evs, 'dev_map');
    const unmaps = pagesOfType(evs, 'dev_unmap');
    // The four pages were installed (at the UMR's post) before the invalidation opened, and zapped
    // only after the fault's UMR completed (200 µs after the post) and a zap of its own (200 µs).
    expect(maps).toHaveLength(4);
    expect(maps.every((e) => e.time < start.time)).toBe(true);
    expect(unmaps.every((e) => e.time >= maps[0]!.time + 400_000)).toBe(true);
    expect(r.ops['unmap']!.blockedNs).toBeGreaterThanOrEqual(100_000);
    expect(kinds(r)).toEqual([]);
  });

  it('a read through a writable MR asks for write access: on a private mapping it breaks COW, on a shared ext4 mapping it dirties the page', () => {
    const { r, evs } = run(scenario([
      { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['shared'], as: 'sh' },
      { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['private'], as: 'pv' },
      { op: 'reg_mr', device: 'nic0', addr: 'sh', length: '4K', access: 'rw', as: 'mrs' },
      { op: 'reg_mr', device: 'nic0', addr: 'pv', length: '4K', access: 'rw', as: 'mrp' },
      { op: 'dma_read', mr: 'mrs', offset: 0, length: '4K', as: 'rs' },
      { op: 'dma_read', mr: 'mrp', offset: 0, length: '4K', as: 'rp' },
    ], {}, { files: { f: { fs: 'ext4', size: '4K' } } }));
    expect(r.results).toMatchObject({ rs: 'ok', rp: 'ok' });
    expect(evs.some((e) => e.type === 'folio_dirty' && e.file === 'f')).toBe(true);
    // The private mapping's page-cache page was replaced by an anonymous copy: COW broken by a read.
    expect(evs.some((e) => e.type === 'folio_alloc' && e.owner === 'anon:app')).toBe(true);
    expect(of(evs, 'fault').map((e) => e.write)).toEqual([true, true]);
    expect(kinds(r)).toEqual([]);
  });

  it('a read through a writable MR of a read-only mapping completes in error; through a read-only MR it reads', () => {
    const ops = (access: string) => [
      { op: 'mmap', length: '4K', prot: 'r', flags: ['private'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access, as: 'mr' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'r' },
    ];
    for (const policy of ['linux-4.20', 'linux-6.12']) {
      expect(run(scenario(ops('rw')), policy).r.results['r']).toBe('remote-access-error');
      expect(run(scenario(ops('r')), policy).r.results['r']).toBe('ok');
    }
  });

  it('advise_mr PREFETCH maps read-only (MLX5_PF_FLAGS_DOWNGRADE): no COW break; a DMA write then faults for write', () => {
    const { r, evs } = run(scenario([
      { op: 'mmap', file: 'f', length: '4K', prot: 'rw', flags: ['private'], as: 'pv' },
      { op: 'reg_mr', device: 'nic0', addr: 'pv', length: '4K', access: 'rw', as: 'mr' },
      { op: 'advise_mr', mr: 'mr', advice: 'prefetch', offset: 0, length: '4K', as: 'pf' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'r' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w' },
    ], {}, { files: { f: { fs: 'ext4', size: '4K' } } }));
    expect(r.results).toMatchObject({ pf: 'ok', r: 'ok', w: 'ok' });
    const cow = evs.findIndex((e) => e.type === 'folio_alloc' && e.owner === 'anon:app');
    const w = evs.findIndex((e) => e.type === 'op_start' && e.name === 'w');
    expect(cow).toBeGreaterThan(w);
  });
});

/** An ODP MR over anonymous memory, a DMA that maps it, then MADV_DONTNEED: one invalidation that must zap. */
const zapScenario = (device: Record<string, unknown>) => scenario([
  { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
  { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
  { op: 'dma_write', mr: 'mr', offset: 0, length: '8K', as: 'w1' },
  { op: 'madvise', addr: 'buf', length: '8K', advice: 'dontneed', at: '500us', as: 'zap' },
  { op: 'store', addr: 'buf', length: '8K', as: 's' },
  { op: 'dma_read', mr: 'mr', offset: 0, length: '8K', as: 'r' },
  { op: 'advise_mr', mr: 'mr', advice: 'prefetch', offset: 0, length: '8K', as: 'pf' },
], device);

describe('odp-nic: umrFailure', () => {
  it('none: the invalidation waits for one zap UMR (invalidateLatency)', () => {
    const { r } = run(zapScenario({}));
    expect(r.results['zap']).toBe('ok');
    expect(duration(r, 'zap')).toBeGreaterThanOrEqual(DEFAULTS.invalidateLatency);
    expect(duration(r, 'zap')).toBeLessThan(2 * DEFAULTS.invalidateLatency);
  });

  it('alloc: the emergency XLT page makes the zap slower but it never fails; the MR keeps working', () => {
    for (const policy of ['linux-4.20', 'linux-6.12']) {
      const { r, evs } = run(zapScenario({ umrFailure: 'alloc' }), policy);
      expect(r.results['zap']).toBe('ok');
      expect(duration(r, 'zap')).toBeGreaterThanOrEqual(2 * DEFAULTS.invalidateLatency);
      expect(r.results['r']).toBe('ok');
      expect(r.observed['r']).toBe('s');
      expect(r.results['pf']).toBe('ok');
      expect(evs.some((e) => e.type === 'device_dead')).toBe(false);
      expect(kinds(r)).toEqual([]);
    }
  });

  it('alloc: two MRs invalidated at the same instant serialise on the one emergency page', () => {
    const proc = (n: string) => [
      { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: `${n}buf` },
      { op: 'reg_mr', device: 'nic0', addr: `${n}buf`, length: '4K', access: 'rw', as: `${n}mr` },
      { op: 'dma_write', mr: `${n}mr`, offset: 0, length: '4K', as: `${n}w` },
      { op: 'madvise', addr: `${n}buf`, length: '4K', advice: 'dontneed', at: '500us', as: `${n}zap` },
    ];
    const mk = (umrFailure: string) => ({
      name: 'odp-unit', kernel: { memory: '64M' }, devices: { nic0: { model: 'odp-nic', umrFailure } }, actors: { a: proc('a'), b: proc('b') },
    });
    const alloc = run(mk('alloc')).r, none = run(mk('none')).r;
    const EMERGENCY = 4 * DEFAULTS.invalidateLatency;
    // Without the fallback the two zaps overlap: both done one UMR round trip after they start.
    for (const k of ['azap', 'bzap']) expect(none.ops[k]!.end - 500 * US).toBeLessThan(2 * DEFAULTS.invalidateLatency);
    // With it, the first holds the emergency page for its slower round trip and the second waits for it.
    const ends = [alloc.ops['azap']!.end, alloc.ops['bzap']!.end].map((e) => e - 500 * US).sort((x, y) => x - y);
    expect(ends[0]).toBeGreaterThanOrEqual(EMERGENCY);
    expect(ends[0]).toBeLessThan(2 * EMERGENCY);
    expect(ends[1]).toBeGreaterThanOrEqual(2 * EMERGENCY);
    expect(alloc.ops['azap']!.blockedNs + alloc.ops['bzap']!.blockedNs).toBeGreaterThanOrEqual(EMERGENCY);
    expect([alloc.results['azap'], alloc.results['bzap']]).toEqual(['ok', 'ok']);
  });

  it('completion, afterZapFailure "stale" (the default: what the driver\'s code does): the MTT keeps the old translation and the device reads the freed page again', () => {
    for (const policy of ['linux-4.20', 'linux-6.12']) {
      const { r, evs } = run(zapScenario({ umrFailure: 'completion' }), policy);
      expect(r.results).toMatchObject({ w1: 'ok', zap: 'ok', r: 'ok' });
      expect(evs.some((e) => e.type === 'device_dead')).toBe(false);
      // The invalidation returned with the device still translating: no dev_unmap before it.
      expect(kinds(r)).toEqual(expect.arrayContaining(['dma-use-after-free', 'notifier-teardown-incomplete']));
    }
  });

  it('completion: before 6.0 the UMR QP stays in error and every later UMR fails (the prefetch: EFAULT); from 6.0 mlx5r_umr_recover() resets it and the prefetch maps', () => {
    expect(run(zapScenario({ umrFailure: 'completion' }), 'linux-4.20').r.results['pf']).toBe('EFAULT');
    expect(run(zapScenario({ umrFailure: 'completion' }), 'linux-5.19').r.results['pf']).toBe('EFAULT');
    expect(run(zapScenario({ umrFailure: 'completion' }), 'linux-6.0').r.results['pf']).toBe('ok');
    expect(run(zapScenario({ umrFailure: 'completion' }), 'linux-6.12').r.results['pf']).toBe('ok');
  });

  it('completion + umrRecovery "fails" (6.0+): the UMR state becomes ERR and every later UMR fails, fault installs included', () => {
    const { r } = run(zapScenario({ umrFailure: 'completion', umrRecovery: 'fails' }), 'linux-6.12');
    expect(r.results['pf']).toBe('EFAULT');
    const fresh = run(scenario([
      { op: 'mmap', length: '8K', prot: 'rw', flags: ['private'], as: 'buf' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '8K', access: 'rw', as: 'mr' },
      { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w1' },
      { op: 'madvise', addr: 'buf', length: '4K', advice: 'dontneed', as: 'zap' },
      { op: 'dma_write', mr: 'mr', offset: '4K', length: '4K', as: 'w2' },
    ], { umrFailure: 'completion', umrRecovery: 'fails' }), 'linux-6.12').r;
    // The second page was never mapped: its fault's UMR fails, the DMA completes in error.
    expect(fresh.results).toMatchObject({ w1: 'ok', zap: 'ok', w2: 'remote-access-error' });
  });

  it('completion + afterZapFailure "fatal" (an assumed hardware guarantee): the device stops all DMA; every later DMA completes device-error', () => {
    for (const policy of ['linux-4.20', 'linux-6.12']) {
      const { r, evs } = run(zapScenario({ umrFailure: 'completion', afterZapFailure: 'fatal' }), policy);
      expect(r.results).toMatchObject({ w1: 'ok', zap: 'ok', r: 'device-error', pf: 'EFAULT' });
      const dead = evs.findIndex((e) => e.type === 'device_dead');
      expect(dead).toBeGreaterThan(0);
      expect(evs.slice(dead).some((e) => e.type === 'dma_access')).toBe(false);
      expect(r.violations.some((v) => v.kind.startsWith('dma-') || v.kind === 'notifier-teardown-incomplete')).toBe(false);
    }
  });

  it('completion: mlx5 WARNs about the bad UMR completion only from 6.0 (the recovery flow); before, it is a printk', () => {
    const six = run(zapScenario({ umrFailure: 'completion', afterZapFailure: 'fatal' }), 'linux-6.12');
    expect(kinds(six.r)).toEqual(['kernel-warn']);
    expect(six.evs.some((e) => e.type === 'kernel_warn' && e.site.includes('mlx5'))).toBe(true);
    const old = run(zapScenario({ umrFailure: 'completion', afterZapFailure: 'fatal' }), 'linux-5.19');
    expect(kinds(old.r)).toEqual([]);
    expect(old.evs.some((e) => e.type === 'kernel_warn')).toBe(false);
  });

  it('completion behind an IOMMU: the driver DMA-unmapped the page, so the device\'s access through the stale MTT faults at the IOMMU', () => {
    const { r, evs } = run(zapScenario({ umrFailure: 'completion', iommu: true }), 'linux-6.12');
    expect(r.results['r']).toBe('remote-access-error');
    expect(evs.some((e) => e.type === 'iommu_fault')).toBe(true);
    expect(kinds(r)).not.toContain('dma-use-after-free');
  });

  const reuse = (device: Record<string, unknown>) => ({
    name: 'odp-unit', kernel: { memory: '64M' },
    devices: { nic0: { model: 'odp-nic', umrFailure: 'completion', ...device } },
    actors: {
      app: [
        { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4K', access: 'rw', as: 'mr' },
        { op: 'dma_write', mr: 'mr', offset: 0, length: '4K', as: 'w1' },
        { op: 'madvise', addr: 'buf', length: '4K', advice: 'dontneed', at: '500us', as: 'zap' },
        { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', at: '700us', as: 'r' },
      ],
      other: [
        { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], at: '600us', as: 'obuf' },
        { op: 'store', addr: 'obuf', length: '4K', as: 'theirs' },
      ],
    },
  });

  it('completion, stale: the device reads the freed page another process now owns', () => {
    const { r } = run(reuse({}), 'linux-4.20');
    expect(r.results['zap']).toBe('ok');
    expect(r.results['r']).toBe('ok');
    expect(r.observed['r']).toBe('theirs');
    // The app's VMA is still there: a CPU load would read zero, the device read someone else's page.
    expect(kinds(r)).toEqual(['dma-into-reused-page', 'dma-use-after-free', 'notifier-teardown-incomplete', 'stale-read']);
    expect(r.notes).toBeUndefined();
  });

  it('the deprecated unsafeIgnoreZapFailure: true is afterZapFailure "stale", false is "fatal", each with a note; given with a contradicting afterZapFailure it is refused', () => {
    const stale = run(reuse({ unsafeIgnoreZapFailure: true }), 'linux-4.20').r;
    const plain = run(reuse({}), 'linux-4.20').r;
    expect(stale.traceHash).toBe(plain.traceHash);
    expect(stale.notes).toEqual(['nic0: unsafeIgnoreZapFailure is deprecated: read as afterZapFailure "stale" (unsafeIgnoreZapFailure: true)']);
    const fatal = run(reuse({ unsafeIgnoreZapFailure: false }), 'linux-4.20').r;
    expect(fatal.traceHash).toBe(run(reuse({ afterZapFailure: 'fatal' }), 'linux-4.20').r.traceHash);
    expect(fatal.results['r']).toBe('device-error');
    expect(fatal.notes).toEqual(['nic0: unsafeIgnoreZapFailure is deprecated: read as afterZapFailure "fatal" (unsafeIgnoreZapFailure: false)']);
    expect(() => run(reuse({ unsafeIgnoreZapFailure: true, afterZapFailure: 'fatal' }))).toThrow(/conflict|unsafeIgnoreZapFailure/);
    expect(run(reuse({ unsafeIgnoreZapFailure: true, afterZapFailure: 'stale' })).r.traceHash).toBe(run(reuse({}), 'linux-6.12').r.traceHash);
  });
});

describe('odp-nic: implicit ODP', () => {
  const A = 0x10000000, B = 0x80000000; // 256 MiB and 2 GiB: two different 1 GiB children
  const s = scenario([
    { op: 'mmap', addr: A, length: '8K', prot: 'rw', flags: ['private', 'fixed'], as: 'a' },
    { op: 'mmap', addr: B, length: '8K', prot: 'rw', flags: ['private', 'fixed'], as: 'b' },
    { op: 'store', addr: 'a', length: '8K', as: 'sa' },
    { op: 'reg_mr', device: 'nic0', addr: 0, length: 0, access: 'rw', as: 'mr' },
    { op: 'dma_read', mr: 'mr', offset: A, length: '8K', as: 'ra' },
    { op: 'dma_write', mr: 'mr', offset: B + PAGE, length: '4K', as: 'wb' },
    { op: 'load', addr: 'b', offset: '4K', length: '4K', as: 'cpub' },
    { op: 'dma_read', mr: 'mr', offset: B + 2 * PAGE, length: '4K', as: 'hole' },
    { op: 'munmap', addr: 'a', length: '8K', as: 'unmap' },
    { op: 'dma_read', mr: 'mr', offset: A, length: '4K', as: 'gone' },
    { op: 'dma_read', mr: 'mr', offset: B + PAGE, length: '4K', as: 'still' },
    { op: 'dereg_mr', mr: 'mr', as: 'dereg' },
  ], { implicit: true });

  it('one registration of the whole address space serves two mappings: DMA offsets are virtual addresses', () => {
    const { r } = run(s);
    expect(r.results).toMatchObject({ mr: 'ok', ra: 'ok', wb: 'ok', still: 'ok', dereg: 'ok' });
    expect(r.observed).toMatchObject({ ra: 'sa', cpub: 'wb', still: 'wb' });
    expect(kinds(r)).toEqual([]);
  });

  it('each mapping is served by its own 1 GiB child with its own interval notifier, created on first fault', () => {
    const { evs } = run(s);
    expect(of(during(evs, 'app.3'), 'interval_insert')).toHaveLength(0);
    const ins = of(evs, 'interval_insert').map((e) => [e.start, e.end]);
    expect(ins).toEqual([[0, 1024 ** 3], [2 * 1024 ** 3, 3 * 1024 ** 3]]);
    expect(of(evs, 'interval_remove')).toHaveLength(2);
  });

  it('a virtual address with no mapping, or one unmapped since, completes remote-access-error', () => {
    const { r, evs } = run(s);
    expect(r.results['hole']).toBe('remote-access-error');
    expect(r.results['unmap']).toBe('ok');
    expect(r.results['gone']).toBe('remote-access-error');
    // munmap of the first mapping invalidated the first child only: the second child keeps its MTTs.
    expect(of(during(evs, 'app.8'), 'dev_unmap').map((e) => e.va).sort((x, y) => x - y)).toEqual([A, A + PAGE]);
  });
});
