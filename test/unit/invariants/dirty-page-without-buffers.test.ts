import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed, folioFreeOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { dirty_page_without_buffers } from '../../../src/invariants/dirty-page-without-buffers.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(dirty_page_without_buffers, evs, { policy: 'linux-4.20' }));
  return out;
}

const K = { actor: 'app' };
const ref = (time: number, pfn: number): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', time, actor: 'nic0', ref: 1, holder: 'nic0', api: 'get_user_pages_longterm', mm: 'app', va: 0x7f0000000000, pfn, gen: 1,
  file: 'f', index: 0, flags: 0, fnames: 'FOLL_GET|FOLL_LONGTERM|FOLL_WRITE', longterm: true, pin: false, refs: 1, refcount: 3, pincount: 0,
});
const written = (time: number, pfn: number): MmEventOf<'storage_write'> => ({ type: 'storage_write', time, ...K, file: 'f', index: 0, pfn, token: 3 });
const buffers = (time: number, pfn: number, attached: boolean): MmEventOf<'folio_buffers'> => ({ type: 'folio_buffers', time, ...K, pfn, file: 'f', index: 0, attached });
const dirty = (time: number, pfn: number, via: string, hasBuffers = false): MmEventOf<'folio_dirty'> =>
  ({ type: 'folio_dirty', time, actor: 'nic0', pfn, file: 'f', index: 0, buffers: hasBuffers, via });
const free = (time: number, pfn: number): MmEventOf<'folio_free'> => folioFreeOf(time, K.actor, pfn);

/** S1–S4 of kernel-semantics §2: pinned, written back (cleaned), buffers stripped by reclaim. */
const STRIPPED = [buffers(50, 5, true), ref(100, 5), written(1_000, 5), buffers(2_000, 5, false)];

describe('dirty-page-without-buffers (synthetic trace)', () => {
  it('fires when a DMA reference is released with dirty on a cleaned page whose buffers reclaim stripped (S6)', () => {
    const r = check([...STRIPPED, dirty(3_000, 5, 'unpin:nic0')]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'dirty-page-without-buffers', pfn: 5, file: 'f', index: 0, time: 3_000, actor: 'nic0' });
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dma_ref_get', 'storage_write', 'folio_buffers', 'folio_dirty']);
    expect(r[0]!.message).toMatch(/nic0 released its DMA reference on pfn 0x5/);
  });

  it('does not fire when the buffers are still attached (writeback cleaned it but reclaim did not strip it)', () => {
    expect(check([buffers(50, 5, true), ref(100, 5), written(1_000, 5), dirty(3_000, 5, 'unpin:nic0', true)])).toEqual([]);
  });

  it('does not fire when the dirtying is page_mkwrite (the filesystem was asked) rather than a reference release', () => {
    expect(check([...STRIPPED, dirty(3_000, 5, 'page_mkwrite')])).toEqual([]);
  });

  it('does not fire when the buffers were stripped before writeback cleaned the page, or re-attached since', () => {
    expect(check([ref(100, 5), buffers(500, 5, false), written(1_000, 5), dirty(3_000, 5, 'unpin:nic0')])).toEqual([]);
    expect(check([...STRIPPED, buffers(2_500, 5, true), dirty(3_000, 5, 'unpin:nic0', true)])).toEqual([]);
  });

  it('does not fire for a frame freed and reused since it was stripped, nor for a different frame', () => {
    expect(check([...STRIPPED, free(2_500, 5), dirty(3_000, 5, 'unpin:nic0')])).toEqual([]);
    expect(check([...STRIPPED, dirty(3_000, 6, 'unpin:nic0')])).toEqual([]);
  });
});

describe('dirty-page-without-buffers (scenarios)', () => {
  it('thread-2018/08 under linux-4.20: dereg_mr dirties each cleaned, buffer-less ext4 page of the MR behind ext4\'s back', () => {
    const r = runScenario(example('thread-2018/08-writeback-put-user-page'), { policy: 'linux-4.20' });
    const v = r.violations.filter((x) => x.kind === 'dirty-page-without-buffers');
    // The 16K MR faulted in (page_mkwrite) and pinned all 4 pages; writeback cleaned them, reclaim stripped them.
    expect(v.map((x) => [x.actor, x.file, x.index])).toEqual([['nic0', 'f', 0], ['nic0', 'f', 1], ['nic0', 'f', 2], ['nic0', 'f', 3]]);
    // At S6: during dereg_mr (app.7).
    for (const x of v) {
      expect(x.time).toBeGreaterThanOrEqual(r.ops['app.7']!.start);
      expect(x.time).toBeLessThanOrEqual(r.ops['app.7']!.end);
    }
  });

  it('the same scenario without the reclaim of buffers (S4) does not fire: the page still has its buffers at dereg', () => {
    const s = example('thread-2018/08-writeback-put-user-page');
    s.actors.app.splice(4, 1); // drop { op: 'reclaim', target: 'buffers' }
    delete s.expect;
    delete s.expectByPolicy;
    const r = runScenario(s, { policy: 'linux-4.20' });
    expect(r.violations.map((x) => x.kind)).not.toContain('dirty-page-without-buffers');
    expect(r.violations.map((x) => x.kind)).not.toContain('kernel-bug');
  });

  it('under linux-6.12 the writable long-term pin is refused up front: nothing fires', () => {
    const r = runScenario(example('thread-2018/08-writeback-put-user-page'), { policy: 'linux-6.12' });
    expect(r.results['mr']).toBe('EFAULT');
    expect(r.violations).toEqual([]);
  });
});
