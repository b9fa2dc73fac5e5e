import { describe, expect, it } from 'vitest';
import { feed, folioFreeOf, filemapRemoveOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { pinned_page_moved } from '../../../src/invariants/pinned-page-moved.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import type { RunResult } from '../../../src/scenario/run/result.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(pinned_page_moved, evs, { policy: 'linux-6.12' }));
  return out;
}

const VA = 0x7f0000000000;
const get = (time: number, pfn: number, refs = 1024): MmEventOf<'dma_ref_get'> => ({
  type: 'dma_ref_get', time, actor: 'app', ref: 1, holder: 'nic0', api: 'pin_user_pages(FOLL_LONGTERM)', mm: 'app', va: VA, pfn, gen: 1,
  file: '', index: -1, flags: 0, fnames: 'FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE', longterm: true, pin: refs > 0, refs, refcount: 1 + refs, pincount: 1,
});
const put = (time: number, pfn: number): MmEventOf<'dma_ref_put'> => ({
  type: 'dma_ref_put', time, actor: 'app', ref: 1, holder: 'nic0', pfn, gen: 1, dirty: false, pin: true, refs: 1024, refcount: 1, pincount: 0,
});
const migrate = (time: number, old: number, neu: number): MmEventOf<'folio_migrate'> => ({ type: 'folio_migrate', time, actor: 'kcompactd0', old, new: neu, mm: 'app', va: VA });
const remove = (time: number, pfn: number, reason: string): MmEventOf<'filemap_remove'> => filemapRemoveOf(time, 'kswapd0', 'f', 0, pfn, 1025, reason, 1);
const free = (time: number, pfn: number): MmEventOf<'folio_free'> => folioFreeOf(time, 'kernel', pfn);

describe('pinned-page-moved (synthetic trace)', () => {
  it('fires when migration moves a page a DMA reference holds, with the reference in its chain', () => {
    const r = check([get(100, 5), migrate(2_000, 5, 9)]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'pinned-page-moved', pfn: 5, actor: 'kcompactd0', time: 2_000 });
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dma_ref_get', 'folio_migrate']);
  });

  it('fires when reclaim drops a referenced page from the page cache, or the allocator frees it', () => {
    expect(check([get(100, 5), remove(2_000, 5, 'reclaim')]).map((v) => v.pfn)).toEqual([5]);
    expect(check([get(100, 5), free(2_000, 5)]).map((v) => v.pfn)).toEqual([5]);
  });

  it('does not fire once the reference is released, for another frame, or for a zero-page "pin" that holds nothing', () => {
    expect(check([get(100, 5), put(1_000, 5), migrate(2_000, 5, 9)])).toEqual([]);
    expect(check([get(100, 5), migrate(2_000, 6, 9)])).toEqual([]);
    expect(check([get(100, 0, 0), migrate(2_000, 0, 9)])).toEqual([]);
  });

  it('does not fire for a truncate removing a referenced page (that orphans it; lost-write judges the DMA)', () => {
    expect(check([get(100, 5), remove(2_000, 5, 'truncate')])).toEqual([]);
  });
});

describe('pinned-page-moved (scenarios)', () => {
  /** One anonymous page, written, optionally pinned long-term, then migrate_pages'd. */
  const scenario = (pinned: boolean) => ({
    name: 'migrate-pinned', kernel: { memory: '64M' },
    actors: {
      app: [
        { op: 'mmap', length: '4K', prot: 'rw', flags: ['private'], as: 'mem' },
        { op: 'store', addr: 'mem', length: '4K', as: 's0' },
        ...(pinned ? [{ op: 'gup', addr: 'mem', length: '4K', flags: ['pin', 'longterm', 'write'], as: 'pin' }] : []),
        { op: 'migrate', addr: 'mem', length: '4K', as: 'moved' },
        { op: 'load', addr: 'mem', length: '4K', as: 'seen' },
        ...(pinned ? [{ op: 'unpin', pins: 'pin' }] : []),
      ],
    },
  });
  const run = (s: unknown, policy: string) => {
    const evs: MmTraceEvent[] = [];
    const r: RunResult = runScenario(s, { policy, trace: (e) => evs.push(e) });
    return { r, evs };
  };

  it.each(['linux-4.20', 'linux-6.12'])('under %s migrate_pages of a pinned page is EBUSY: the page stays, nothing fires', (policy) => {
    const { r, evs } = run(scenario(true), policy);
    expect(r.results['pin']).toBe('ok');
    expect(r.results['moved']).toBe('EBUSY');
    expect(evs.filter((e) => e.type === 'folio_migrate')).toEqual([]);
    // The notifier fired first (migrate_pages, not compaction's pre-filter).
    expect(evs.some((e) => e.type === 'notifier_start' && e.event === 'MMU_NOTIFY_CLEAR')).toBe(true);
    expect(r.observed['seen']).toBe('s0');
    expect(r.violations).toEqual([]);
  });

  it('migrate_pages of an unpinned page moves it: a new frame with the same content, nothing fires', () => {
    const { r, evs } = run(scenario(false), 'linux-6.12');
    expect(r.results['moved']).toBe('ok');
    expect(evs.filter((e) => e.type === 'folio_migrate')).toHaveLength(1);
    expect(r.observed['seen']).toBe('s0');
    expect(r.violations).toEqual([]);
  });
});
