import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed, pteClearOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { incoherent_mapping } from '../../../src/invariants/incoherent-mapping.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(incoherent_mapping, evs, { policy: 'linux-4.20' }));
  return out;
}

const VA = 0x7effffffe000;
const pteSet = (time: number, pfn: number, va = VA, mm = 'app'): MmEventOf<'pte_set'> => ({ type: 'pte_set', time, actor: 'app', mm, va, pfn, write: true, refcount: 2 });
const pteClear = (time: number, pfn: number, va = VA, mm = 'app'): MmEventOf<'pte_clear'> => pteClearOf(time, 'app', mm, va, pfn, true);
const ref = (time: number, pfn: number): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', time, actor: 'nic0', ref: 1, holder: 'nic0', api: 'get_user_pages_longterm', mm: 'app', va: VA, pfn, gen: 1,
  file: '', index: -1, flags: 0, fnames: 'FOLL_GET|FOLL_LONGTERM|FOLL_WRITE', longterm: true, pin: false, refs: 1, refcount: 3, pincount: 0,
});
const dma = (time: number, pfn: number, o: Partial<MmEventOf<'dma_access'>> = {}): MmEventOf<'dma_access'> => ({
  type: 'dma_access', op: 'dma_write', length: 4096, time, actor: 'nic0', wr: 'w', device: 'nic0', mm: 'app', va: VA, pfn, gen: 1, file: '', index: -1,
  write: true, token: 7, ok: true, cpuPfn: -1, cpuToken: -1, ...o,
});

describe('incoherent-mapping (synthetic trace)', () => {
  it('fires when a device accesses a frame other than the one the present PTE for that VA maps (DONTNEED re-fault)', () => {
    const r = check([pteSet(0, 5), ref(10, 5), pteClear(20, 5), pteSet(30, 9), dma(40, 5)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'incoherent-mapping', pfn: 5, actor: 'nic0', time: 40 });
    expect(r[0]!.message).toMatch(/pfn 0x9/);
    const chain = r[0]!.chain.map((c) => c.event);
    expect(chain).toEqual(['dma_ref_get', 'pte_clear', 'pte_set', 'dma_access']);
    expect(r[0]!.chain[2]!.pfn).toBe(9);
  });

  it('puts the era\'s COW decision in the chain: do_wp_page copied the pinned page (cow_copy)', () => {
    const copy: MmEventOf<'cow_copy'> = { type: 'cow_copy', time: 20, actor: 'app', mm: 'app', va: VA, pfn: 5, refcount: 1025, mapcount: 1, exclusive: false, rule: 'refcount', unshare: false };
    const r = check([pteSet(0, 5), ref(10, 5), copy, pteClear(20, 5), pteSet(20, 9), dma(40, 5, { write: false })]);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dma_ref_get', 'cow_copy', 'pte_clear', 'pte_set', 'dma_access']);
  });

  it('fires for a device read as well as a write', () => {
    expect(check([pteSet(0, 9), dma(10, 5, { write: false })])).toHaveLength(1);
  });

  it('does not fire when the device frame is the one the PTE maps', () => {
    expect(check([pteSet(0, 5), ref(10, 5), dma(20, 5), dma(30, 5, { write: false })])).toEqual([]);
  });

  it('does not fire where the VA has no present PTE (munmap, DONTNEED before a re-fault, mremap\'s old range)', () => {
    expect(check([pteSet(0, 5), ref(10, 5), pteClear(20, 5), dma(30, 5)])).toEqual([]);
    // The CPU had another frame there, then unmapped it: nothing to compare with any more.
    expect(check([pteSet(0, 5), ref(10, 5), pteClear(20, 5), pteSet(30, 9), pteClear(40, 9), dma(50, 5)])).toEqual([]);
    expect(check([dma(30, 5)])).toEqual([]);
  });

  it('does not compare against a PTE of another mm or another VA, nor an access with no mm', () => {
    expect(check([pteSet(0, 9, VA, 'other'), dma(10, 5)])).toEqual([]);
    expect(check([pteSet(0, 9, VA + 4096), dma(10, 5)])).toEqual([]);
    expect(check([pteSet(0, 9), dma(10, 5, { mm: '' })])).toEqual([]);
  });

  it('tracks the latest PTE: a PTE re-set to the device frame is coherent again', () => {
    expect(check([pteSet(0, 9), pteClear(5, 9), pteSet(6, 5), dma(10, 5)])).toEqual([]);
  });
});

describe('incoherent-mapping (scenarios)', () => {
  const kinds = (r: { violations: { kind: string }[] }) => r.violations.map((v) => v.kind);

  it.each(['linux-4.20', 'linux-6.12'])('MADV_DONTNEED on pinned anonymous memory, then a CPU store, then a NIC write fires under %s', (policy) => {
    const r = runScenario(example('gup-nic-madvise-dontneed'), { policy });
    expect(r.results['w']).toBe('ok');
    expect(r.observed['cpusaw']).toBe('s2');
    const v = r.violations.filter((x) => x.kind === 'incoherent-mapping');
    expect(v).toHaveLength(1);
    expect(v[0]!.actor).toBe('nic0');
  });

  it('MADV_DONTNEED, a CPU store, then a NIC read fires incoherent-mapping and not stale-read', () => {
    const s = example('gup-nic-madvise-dontneed');
    delete s.expect;
    s.actors.app[5] = { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'nicsaw' };
    const r = runScenario(s, { policy: 'linux-4.20' });
    expect(r.observed['nicsaw']).toBe('s1');
    expect(kinds(r)).toContain('incoherent-mapping');
    expect(kinds(r)).not.toContain('stale-read');
  });

  it('a munmap\'d MR VA is not checked: the NIC reaching its pinned pages there is no violation', () => {
    const cpu: number[] = [];
    const r = runScenario(example('gup-nic-munmap'), { policy: 'linux-4.20', trace: (e) => { if (e.type === 'dma_access') cpu.push(e.cpuPfn); } });
    expect(r.results['r']).toBe('ok');
    expect(r.violations).toEqual([]);
    expect(cpu.length).toBeGreaterThan(0);
    expect(cpu.every((p) => p === -1)).toBe(true);
  });

  it('a new mapping at the munmap\'d VA is checked: the NIC access there fires', () => {
    const r = runScenario(example('gup-nic-munmap-remap'), { policy: 'linux-4.20' });
    expect(kinds(r)).toContain('incoherent-mapping');
  });

  it.each(['linux-4.20', 'linux-6.12'])('after mremap moves a pinned buffer the old VA is not checked under %s', (policy) => {
    const cpu: [number, number][] = [];
    const r = runScenario(example('gup-nic-mremap'), { policy, trace: (e) => { if (e.type === 'dma_access') cpu.push([e.cpuPfn, e.cpuToken]); } });
    expect(r.results['moved']).toBe('ok');
    expect(r.observed['nicsaw']).toBe('s1');
    expect(r.violations).toEqual([]);
    expect(cpu).toHaveLength(4);
    expect(cpu.every(([p, t]) => p === -1 && t === -1)).toBe(true);
  });

  it('after mremap, a new mapping faulted in at the old VA is checked again and fires', () => {
    const s = example('gup-nic-mremap');
    delete s.expect;
    s.actors.app.splice(5, 0,
      { op: 'mmap', addr: 'buf', length: '16K', prot: 'rw', flags: ['private', 'fixed'], as: 'again' },
      { op: 'store', addr: 'again', length: '4K', as: 's2' });
    const r = runScenario(s, { policy: 'linux-4.20' });
    expect(r.results['again']).toBe('ok');
    expect(kinds(r)).toContain('incoherent-mapping');
  });

  it('fallocate(PUNCH_HOLE) under a pinned file page is not incoherent-mapping (no PTE at the VA any more)', () => {
    const r = runScenario(example('gup-nic-punch-hole'), { policy: 'linux-4.20' });
    expect(kinds(r)).not.toContain('incoherent-mapping');
  });
});
