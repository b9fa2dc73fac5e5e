import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed, folioFreeOf, filemapRemoveOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { lost_write } from '../../../src/invariants/lost-write.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(lost_write, evs, { policy: 'linux-4.20' }));
  return out;
}

const K = { actor: 'kernel' };
const alloc = (time: number, pfn: number, gen: number): MmEventOf<'folio_alloc'> => ({ type: 'folio_alloc', time, ...K, pfn, gen, owner: 'f', file: 'f', index: 0 });
const free = (time: number, pfn: number, _gen: number): MmEventOf<'folio_free'> => folioFreeOf(time, K.actor, pfn);
const add = (time: number, pfn: number, gen: number, index = 0): MmEventOf<'filemap_add'> => ({ type: 'filemap_add', time, ...K, file: 'f', index, pfn, gen, refcount: 1 });
const remove = (time: number, pfn: number, _gen: number, index = 0): MmEventOf<'filemap_remove'> => filemapRemoveOf(time, 'admin', 'f', index, pfn, 1, 'truncate');
const ref = (time: number, pfn: number, gen: number): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', time, actor: 'nic0', ref: 1, holder: 'nic0', api: 'get_user_pages_longterm', mm: 'app', va: 0x7f0000000000, pfn, gen,
  file: 'f', index: 0, flags: 0, fnames: 'FOLL_GET|FOLL_LONGTERM|FOLL_WRITE', longterm: true, pin: false, refs: 1, refcount: 3, pincount: 0,
});
const dma = (time: number, wr: string, pfn: number, gen: number, write = true): MmEventOf<'dma_access'> => ({
  type: 'dma_access', op: 'dma_write', length: 4096, time, actor: 'nic0', wr, device: 'nic0', mm: 'app', va: 0x7f0000000000, pfn, gen, file: 'f', index: 0, write, token: 7, ok: true, cpuPfn: -1, cpuToken: -1,
});
const done = (time: number, wr: string, status = 'ok'): MmEventOf<'dma_complete'> => ({ type: 'dma_complete', time, actor: 'nic0', wr, device: 'nic0', status });
const store = (time: number, pfn: number, gen: number): MmEventOf<'cpu_access'> => ({
  type: 'cpu_access', time, actor: 'app', mm: 'app', va: 0x7f0000000000, pfn, gen, file: 'f', index: 0, write: true, token: 9, shared: true,
});

/** A page of f pinned by the NIC, then truncated out of the page cache while the pin keeps it alive. */
const ORPHANED = [alloc(0, 5, 1), add(0, 5, 1), ref(100, 5, 1), remove(20_000, 5, 1)];

describe('lost-write (synthetic trace)', () => {
  it('fires when a DMA write completes ok into a page truncate removed from the page cache, with the pin and the removal in its chain', () => {
    const r = check([...ORPHANED, dma(30_000, 'w2', 5, 1), done(31_000, 'w2')]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'lost-write', pfn: 5, actor: 'nic0', file: 'f', index: 0, time: 30_000 });
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dma_ref_get', 'filemap_remove', 'dma_access']);
    expect(r[0]!.message).toMatch(/truncate removed it/);
  });

  it('is reported only when the DMA completes ok: a write that completes in error is not lost', () => {
    expect(check([...ORPHANED, dma(30_000, 'w2', 5, 1), done(31_000, 'w2', 'remote-access-error')])).toEqual([]);
    expect(check([...ORPHANED, dma(30_000, 'w2', 5, 1)])).toEqual([]);
  });

  it('fires at once for a CPU store through a shared mapping into an orphaned page', () => {
    const r = check([...ORPHANED, store(25_000, 5, 1)]);
    expect(r.map((v) => [v.kind, v.actor, v.time])).toEqual([['lost-write', 'app', 25_000]]);
  });

  it('does not fire for a DMA write before the truncate, nor for a DMA read after it', () => {
    expect(check([alloc(0, 5, 1), add(0, 5, 1), ref(100, 5, 1), dma(10_000, 'w1', 5, 1), done(11_000, 'w1'), remove(20_000, 5, 1)])).toEqual([]);
    expect(check([...ORPHANED, dma(30_000, 'r', 5, 1, false), done(31_000, 'r')])).toEqual([]);
  });

  it('does not fire for a write into a freed or reallocated frame (that is dma-use-after-free)', () => {
    expect(check([...ORPHANED, free(25_000, 5, 1), dma(30_000, 'w', 5, 1), done(31_000, 'w')])).toEqual([]);
    expect(check([...ORPHANED, free(25_000, 5, 1), alloc(26_000, 5, 2), dma(30_000, 'w', 5, 1), done(31_000, 'w')])).toEqual([]);
  });

  it('does not fire when the page is back in the page cache at that index (the write reaches the file)', () => {
    expect(check([...ORPHANED, add(25_000, 5, 1), dma(30_000, 'w', 5, 1), done(31_000, 'w')])).toEqual([]);
  });
});

describe('lost-write (scenarios)', () => {
  it('a classic MR pinning a shared ext4 mapping under linux-4.20: truncate orphans the page, the NIC write after it is lost', () => {
    const r = runScenario(example('gup-nic-truncate'), { policy: 'linux-4.20' });
    const lost = r.violations.filter((v) => v.kind === 'lost-write');
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ actor: 'nic0', file: 'f', index: 0 });
    expect(lost[0]!.time).toBeGreaterThanOrEqual(30_000);
    expect(lost[0]!.chain.map((c) => c.event)).toContain('filemap_remove');
    expect(r.results['w2']).toBe('ok');
  });

  it('the same scenario under linux-6.12 refuses the writable long-term pin (EFAULT), so nothing is lost', () => {
    const r = runScenario(example('gup-nic-truncate'), { policy: 'linux-6.12' });
    expect(r.results['mr']).toBe('EFAULT');
    expect(r.violations.map((v) => v.kind)).not.toContain('lost-write');
  });

  it('under linux-4.20 a NIC write that lands before the truncate is discarded with its own range, not lost', () => {
    const s = example('gup-nic-truncate');
    s.actors.app.splice(3, 1); // drop w2, the write after the truncate
    delete s.expect; delete s.expectByPolicy;
    const r = runScenario(s, { policy: 'linux-4.20' });
    expect(r.results['w1']).toBe('ok');
    expect(r.results['admin.0']).toBe('ok');
    expect(r.violations.map((v) => v.kind)).not.toContain('lost-write');
  });

  it.each(['linux-4.20', 'linux-6.12'])('a truncate with no device involved loses nothing under %s', (policy) => {
    const r = runScenario(example('truncate-no-device'), { policy });
    expect(r.results['admin.0']).toBe('ok');
    expect(r.results['highseen']).toBe('SIGBUS');
    expect(r.violations.map((v) => v.kind)).not.toContain('lost-write');
  });
});
