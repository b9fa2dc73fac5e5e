import { describe, expect, it } from 'vitest';
import type { Checker, ViolationReport } from '../../../src/invariants/checker.js';
import { dma_into_reused_page } from '../../../src/invariants/dma-into-reused-page.js';
import { dma_use_after_free } from '../../../src/invariants/dma-use-after-free.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { MUNMAP_PINNED, feed, folioFreeOf } from './fixtures.js';


function check(evs: MmTraceEvent[], checker: Checker = dma_into_reused_page): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(checker, evs, { policy: 'linux-4.20' }));
  return out;
}

const alloc = (time: number, pfn: number, gen: number, owner: string, file = '', index = -1): MmEventOf<'folio_alloc'> =>
  ({ type: 'folio_alloc', time, actor: 'kernel', pfn, gen, owner, file, index });
const free = (time: number, pfn: number, _gen: number): MmEventOf<'folio_free'> => folioFreeOf(time, 'kernel', pfn);
const ref = (time: number, pfn: number, gen: number): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', time, actor: 'nic0', ref: 1, holder: 'nic0', api: 'get_user_pages', mm: 'app', va: 0x7f0000000000, pfn, gen,
  file: '', index: -1, flags: 0, fnames: 'FOLL_GET', longterm: false, pin: false, refs: 1, refcount: 2, pincount: 0,
});
const dma = (time: number, pfn: number, gen: number, write = true): MmEventOf<'dma_access'> => ({
  type: 'dma_access', op: 'dma_write', length: 4096, time, actor: 'nic0', wr: 'w', device: 'nic0', mm: 'app', va: 0x7f0000000000, pfn, gen, file: '', index: -1, write, token: 3, ok: true, cpuPfn: -1, cpuToken: -1,
});

const REUSED = [alloc(0, 4, 1, 'app'), ref(10, 4, 1), free(500, 4, 1), alloc(600, 4, 2, 'victim')];

describe('dma-into-reused-page (synthetic trace)', () => {
  it('fires when a device writes through a generation-g translation after the frame was freed and allocated to another owner', () => {
    const r = check([...REUSED, dma(1_000, 4, 1)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'dma-into-reused-page', pfn: 4, actor: 'nic0', time: 1_000 });
    expect(r[0]!.message).toMatch(/reallocated to victim/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dma_ref_get', 'folio_free', 'folio_alloc', 'dma_access']);
  });

  it('names the file page that now owns the frame, and fires for the same process reusing it', () => {
    const r = check([alloc(0, 4, 1, 'app'), free(500, 4, 1), alloc(600, 4, 2, 'app', 'f', 3), dma(1_000, 4, 1, false)]);
    expect(r.map((v) => v.kind)).toEqual(['dma-into-reused-page']);
    expect(r[0]!.message).toMatch(/read pfn 0x4, freed and reallocated to f@3/);
  });

  it('is always reported together with dma-use-after-free', () => {
    const evs = [...REUSED, dma(1_000, 4, 1)];
    expect(check(evs, dma_use_after_free).map((v) => [v.kind, v.pfn, v.actor])).toEqual([['dma-use-after-free', 4, 'nic0']]);
  });

  it('does not fire after a free that no allocation followed (only dma-use-after-free does)', () => {
    const evs = [alloc(0, 4, 1, 'app'), ref(10, 4, 1), free(500, 4, 1), dma(1_000, 4, 1)];
    expect(check(evs)).toEqual([]);
    expect(check(evs, dma_use_after_free)).toHaveLength(1);
  });

  it('does not fire for a translation obtained in the current generation, nor before the free', () => {
    expect(check([...REUSED, ref(700, 4, 2), dma(1_000, 4, 2)])).toEqual([]);
    expect(check([alloc(0, 4, 1, 'app'), dma(100, 4, 1), free(500, 4, 1), alloc(600, 4, 2, 'victim')])).toEqual([]);
  });
});

describe('dma-into-reused-page (scenarios)', () => {
  it.each(['linux-4.20', 'linux-6.12'])('under %s, munmap of a pinned buffer then a new mmap does not hand the pinned frames to the new buffer', (policy) => {
    const r = runScenario(MUNMAP_PINNED, { policy });
    expect(r.results['buf2']).toBe('ok');
    expect(r.results['s2']).toBe('ok');
    expect(r.results['w']).toBe('ok');
    expect(r.observed['r']).toBe('s1');
    // The NIC's write went to the old frames, not into buf2.
    expect(r.observed['cpusaw']).toBe('s2');
    const kinds = r.violations.map((v) => v.kind);
    expect(kinds).not.toContain('dma-into-reused-page');
    expect(kinds).not.toContain('dma-use-after-free');
  });
});
