import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed, folioFreeOf, filemapRemoveOf, pteClearOf, frameFinalOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { refcount_leak } from '../../../src/invariants/refcount-leak.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(refcount_leak, evs, { policy: 'linux-6.12' }));
  return out;
}

const K = { time: 0, actor: 'kernel' };
const alloc = (pfn: number, gen = 1): MmEventOf<'folio_alloc'> => ({ type: 'folio_alloc', ...K, pfn, gen, owner: 'f', file: 'f', index: 0 });
const free = (pfn: number, _gen = 1): MmEventOf<'folio_free'> => folioFreeOf(K.time, K.actor, pfn);
const add = (pfn: number): MmEventOf<'filemap_add'> => ({ type: 'filemap_add', ...K, file: 'f', index: 0, pfn, gen: 1, refcount: 1 });
const remove = (pfn: number): MmEventOf<'filemap_remove'> => filemapRemoveOf(K.time, K.actor, 'f', 0, pfn, 1, 'truncate');
const pteSet = (pfn: number): MmEventOf<'pte_set'> => ({ type: 'pte_set', ...K, mm: 'app', va: 0x1000, pfn, write: true, refcount: 2 });
const pteClear = (pfn: number): MmEventOf<'pte_clear'> => pteClearOf(K.time, K.actor, 'app', 0x1000, pfn);
const refGet = (pfn: number, pin: boolean, refs: number): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', ...K, actor: 'app', ref: 1, holder: 'app', api: pin ? 'pin_user_pages' : 'get_user_pages', mm: 'app', va: 0x1000, pfn, gen: 1,
  file: 'f', index: 0, flags: 0, fnames: pin ? 'FOLL_PIN' : 'FOLL_GET', longterm: false, pin, refs, refcount: 0, pincount: 0,
});
const refPut = (pfn: number, pin: boolean, refs: number): MmEventOf<'dma_ref_put'> =>
  ({ type: 'dma_ref_put', ...K, actor: 'app', ref: 1, holder: 'app', pfn, gen: 1, dirty: false, pin, refs, refcount: 0, pincount: 0 });
const final = (pfn: number, refcount: number, pincount = 0): MmEventOf<'frame_final'> => frameFinalOf(K.time, pfn, refcount, pincount);
const vmstat = (acquired: number, released: number): MmEventOf<'vmstat_final'> =>
  ({ type: 'vmstat_final', ...K, nr_foll_pin_acquired: acquired, nr_foll_pin_released: released });

describe('refcount-leak (synthetic trace)', () => {
  it('fires when a frame ends with a refcount higher than its holders (page cache + PTE) account for', () => {
    const r = check([alloc(3), add(3), pteSet(3), final(3, 3)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'refcount-leak', pfn: 3 });
    expect(r[0]!.message).toMatch(/refcount 3 \(holders account for 2\)/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['frame_final']);
  });

  it('does not fire when the page cache, the PTEs and the DMA references account for every reference', () => {
    expect(check([alloc(3), add(3), pteSet(3), refGet(3, false, 1), final(3, 3)])).toEqual([]);
    expect(check([alloc(3), add(3), pteSet(3), pteClear(3), remove(3), final(3, 0)])).toEqual([]);
  });

  it('a FOLL_PIN counts GUP_PIN_COUNTING_BIAS references and one pin; unpin_user_page returns them', () => {
    expect(check([alloc(3), add(3), refGet(3, true, 1024), final(3, 1025, 1), vmstat(1, 0)])).toEqual([]);
    expect(check([alloc(3), add(3), refGet(3, true, 1024), refPut(3, true, 1024), final(3, 1, 0), vmstat(1, 1)])).toEqual([]);
  });

  it('fires when a frame ends with more pins than the pin holders account for', () => {
    const r = check([alloc(3), add(3), refGet(3, true, 1024), refPut(3, true, 1024), final(3, 1, 1), vmstat(1, 1)]);
    expect(r.map((v) => [v.kind, v.pfn])).toEqual([['refcount-leak', 3]]);
    expect(r[0]!.message).toMatch(/pincount 1 \(pins account for 0\)/);
  });

  it('a reference the books dropped is still a leak if the frame kept it (unpin that forgot to put)', () => {
    expect(check([alloc(3), add(3), refGet(3, false, 1), refPut(3, false, 1), final(3, 2)])).toHaveLength(1);
  });

  it('fires when nr_foll_pin_acquired - nr_foll_pin_released differs from the live pins', () => {
    const r = check([alloc(3), refGet(3, true, 1024), vmstat(2, 0)]);
    expect(r.map((v) => [v.kind, v.pfn])).toEqual([['refcount-leak', -1]]);
    expect(r[0]!.message).toMatch(/nr_foll_pin_acquired 2 .* nr_foll_pin_released 0 .* 1 live pins/);
    expect(check([vmstat(3, 1)])).toHaveLength(1);
    expect(check([vmstat(0, 0)])).toEqual([]);
  });

  it('a frame freed and reallocated starts fresh books: the old holders do not excuse a new leak', () => {
    expect(check([alloc(3), add(3), pteSet(3), free(3), alloc(3, 2), final(3, 1)])).toHaveLength(1);
    expect(check([alloc(3), add(3), pteSet(3), free(3), alloc(3, 2), add(3), final(3, 1)])).toEqual([]);
  });
});

describe('refcount-leak (scenarios)', () => {
  const gup = (flags: string[], unpin: boolean) => ({
    name: `gup-${flags.join('-')}`,
    kernel: { memory: '64M' },
    files: { f: { fs: 'ext4', size: '16K' } },
    actors: {
      app: [
        { op: 'mmap', file: 'f', length: '16K', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'store', addr: 'buf', length: '16K', as: 's' },
        { op: 'gup', addr: 'buf', length: '16K', flags, as: 'p' },
        { op: 'munmap', addr: 'buf', length: '16K', at: '30us' },
        ...(unpin ? [{ op: 'unpin', pins: 'p', dirty: true, at: '40us' }] : []),
      ],
      admin: [{ op: 'ftruncate', file: 'f', length: 0, at: '20us' }],
    },
  });

  it.each([
    ['linux-4.20', ['get']], ['linux-4.20', ['pin', 'longterm']], ['linux-6.12', ['get']], ['linux-6.12', ['pin']], ['linux-6.12', ['pin', 'longterm']],
  ])('under %s a gup %j, truncate, munmap and unpin leave every reference accounted for', (policy, flags) => {
    const r = runScenario(gup(flags as string[], true), { policy });
    expect(r.results['p']).toBe('ok');
    expect(r.results['app.4']).toBe('ok');
    expect(r.stats.pins).toBeGreaterThan(0);
    expect(r.violations.map((v) => v.kind)).not.toContain('refcount-leak');
  });

  it.each(['linux-4.20', 'linux-6.12'])('under %s, pins still held at the end of the run are holders, not a leak', (policy) => {
    const finals: number[] = [];
    const r = runScenario(gup(['pin'], false), { policy, trace: (e) => { if (e.type === 'frame_final') finals.push(...e.refcounts); } });
    expect(r.results['p']).toBe('ok');
    // The pinned pages outlive truncate and munmap, so the end-of-run books really are checked.
    expect(finals.length).toBeGreaterThanOrEqual(4);
    expect(r.violations.map((v) => v.kind)).not.toContain('refcount-leak');
  });

  it.each(['linux-4.20', 'linux-6.12'])('the gup-nic truncate example under %s accounts for every reference', (policy) => {
    const s = JSON.parse(readFileSync(new URL('../../../examples/gup-nic-truncate.json', import.meta.url), 'utf8'));
    const ends: string[] = [];
    const r = runScenario(s, { policy, trace: (e) => { if (e.type === 'vmstat_final' || e.type === 'run_end') ends.push(e.type); } });
    expect(r.outcome).not.toBe('error');
    expect(ends).toEqual(['vmstat_final', 'run_end']);
    expect(r.violations.map((v) => v.kind)).not.toContain('refcount-leak');
  });
});
