import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { dma_use_after_free } from '../../../src/invariants/dma-use-after-free.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { MUNMAP_PINNED, feed, folioFreeOf } from './fixtures.js';


function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(dma_use_after_free, evs, { policy: 'linux-4.20' }));
  return out;
}

const alloc = (time: number, pfn: number, gen: number, owner = 'app'): MmEventOf<'folio_alloc'> =>
  ({ type: 'folio_alloc', time, actor: 'kernel', pfn, gen, owner, file: '', index: -1 });
const free = (time: number, pfn: number, _gen: number): MmEventOf<'folio_free'> => folioFreeOf(time, 'kernel', pfn);
const ref = (time: number, pfn: number, gen: number): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', time, actor: 'nic0', ref: 1, holder: 'nic0', api: 'get_user_pages', mm: 'app', va: 0x7f0000000000, pfn, gen,
  file: '', index: -1, flags: 0, fnames: 'FOLL_GET', longterm: false, pin: false, refs: 1, refcount: 2, pincount: 0,
});
const dma = (time: number, pfn: number, gen: number, write = true): MmEventOf<'dma_access'> => ({
  type: 'dma_access', op: 'dma_write', length: 4096, time, actor: 'nic0', wr: 'w', device: 'nic0', mm: 'app', va: 0x7f0000000000, pfn, gen, file: '', index: -1, write, token: 3, ok: true, cpuPfn: -1, cpuToken: -1,
});

describe('dma-use-after-free (synthetic trace)', () => {
  it('fires when a device writes a frame through a translation of generation g after the frame of g was freed', () => {
    const r = check([alloc(0, 9, 1), ref(10, 9, 1), free(500, 9, 1), dma(1_000, 9, 1)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'dma-use-after-free', pfn: 9, actor: 'nic0', time: 1_000 });
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dma_ref_get', 'folio_free', 'dma_access']);
    expect(r[0]!.message).toMatch(/wrote pfn 0x9 .*generation 1/);
  });

  it('fires for a device read as well, and still after the frame was reallocated', () => {
    expect(check([alloc(0, 9, 1), free(500, 9, 1), dma(1_000, 9, 1, false)]).map((v) => v.kind)).toEqual(['dma-use-after-free']);
    expect(check([alloc(0, 9, 1), free(500, 9, 1), alloc(600, 9, 2, 'other'), dma(1_000, 9, 1)])).toHaveLength(1);
  });

  it('does not fire for an access before the free', () => {
    expect(check([alloc(0, 9, 1), ref(10, 9, 1), dma(100, 9, 1), free(500, 9, 1)])).toEqual([]);
  });

  it('does not fire for a translation obtained in the frame\'s new generation', () => {
    expect(check([alloc(0, 9, 1), free(500, 9, 1), alloc(600, 9, 2), ref(700, 9, 2), dma(1_000, 9, 2)])).toEqual([]);
  });

  it('does not confuse frames: freeing one pfn says nothing about another', () => {
    expect(check([alloc(0, 9, 1), alloc(0, 10, 1), free(500, 10, 1), dma(1_000, 9, 1)])).toEqual([]);
  });
});

describe('dma-use-after-free (scenarios)', () => {
  it.each(['linux-4.20', 'linux-6.12'])('munmap of a buffer a classic MR pins does not free it under %s: the NIC reads the old data safely', (policy) => {
    const r = runScenario(MUNMAP_PINNED, { policy });
    expect(r.stats.pins).toBeGreaterThan(0);
    expect(r.results['app.3']).toBe('ok');
    expect(r.results['r']).toBe('ok');
    expect(r.observed['r']).toBe('s1');
    expect(r.results['app.9']).toBe('ok');
    expect(r.violations.map((v) => v.kind)).not.toContain('dma-use-after-free');
  });

  it('the page truncate orphans under linux-4.20 stays allocated while the MR holds it: lost-write, not use-after-free', () => {
    const s = JSON.parse(readFileSync(new URL('../../../examples/gup-nic-truncate.json', import.meta.url), 'utf8'));
    const kinds = runScenario(s, { policy: 'linux-4.20' }).violations.map((v) => v.kind);
    expect(kinds).toContain('lost-write');
    expect(kinds).not.toContain('dma-use-after-free');
  });
});
