import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feed, devMapOf, devUnmapOf } from './fixtures.js';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { notifier_teardown_incomplete } from '../../../src/invariants/notifier-teardown-incomplete.js';
import { withBook, type MmEventOf, type MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';

function check(evs: MmTraceEvent[]): ViolationReport[] {
  const out: ViolationReport[] = [];
  out.push(...feed(notifier_teardown_incomplete, evs, { policy: 'linux-6.12' }));
  return out;
}

const VA = 0x10000000;
const map = (va = VA, holdsRef = false, device = 'nic0', mm = 'app'): MmEventOf<'dev_map'> => devMapOf(10, device, mm, va, 42, { snapSeq: 3, holdsRef });
const unmap = (va = VA, device = 'nic0'): MmEventOf<'dev_unmap'> => devUnmapOf(30, device, 'app', va, 42);
const done = (o: Partial<MmEventOf<'notifier_sub_done'>> = {}): MmEventOf<'notifier_sub_done'> => ({
  type: 'notifier_sub_done', owner: '', time: 40, actor: 'app', id: 1, holder: 'nic0', mm: 'app', start: VA, end: VA + 0x4000,
  ok: true, blockable: true, event: 'MMU_NOTIFY_UNMAP', ...o,
});
const end = (id = 1): MmEventOf<'notifier_end'> => ({ type: 'notifier_end', time: 50, actor: 'app', id, mm: 'app' });
const hold = (wr = 'gw'): MmEventOf<'dev_dma_hold'> => ({ type: 'dev_dma_hold', time: 20, actor: 'gpu0', device: 'gpu0', wr, mm: 'app', va: VA, pfn: 42 });
const release = (wr = 'gw'): MmEventOf<'dev_dma_release'> => ({ type: 'dev_dma_release', time: 45, actor: 'gpu0', device: 'gpu0', wr });

describe('notifier-teardown-incomplete books per subscription (two MRs of one NIC over one page)', () => {
  const of = <E extends MmTraceEvent>(ev: E, sub: number): E => withBook(ev, sub);
  it('does not fire for one MR\'s invalidate while the other MR, called next, still maps the page', () => {
    // MR 1 (subscription 1) never mapped the page; MR 2 did. MR 1's callback returns first.
    expect(check([of(map(), 2), of(done(), 1), of(unmap(), 2), of(done(), 2)])).toEqual([]);
  });
  it('fires for the MR that keeps its translation, even after the other MR dropped its own of the same page', () => {
    const r = check([of(map(), 1), of(map(), 2), of(unmap(), 1), of(done(), 1), of(done(), 2)]);
    expect(r).toHaveLength(1);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dev_map', 'notifier_sub_done']);
  });
  it('a callback without a subscription (a classic subscriber) answers for every book of its device', () => {
    expect(check([of(map(), 2), done()])).toHaveLength(1);
  });
  it('the subscription is bookkeeping: it is not an enumerable field (traceHash and outputs do not see it)', () => {
    const ev = of(map(), 7);
    expect(ev.sub).toBe(7);
    expect(Object.keys(ev)).not.toContain('sub');
    expect(JSON.stringify(ev)).not.toContain('"sub"');
  });
});

describe('notifier-teardown-incomplete (synthetic trace)', () => {
  it('fires when a reference-less subscriber still translates a page of the range as its invalidate returns', () => {
    const r = check([map(), done()]);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ kind: 'notifier-teardown-incomplete', actor: 'nic0', pfn: 42, time: 40 });
    expect(r[0]!.message).toMatch(/nic0 still translates app va 0x10000000 → pfn 0x2a when its MMU_NOTIFY_UNMAP invalidation returns/);
    expect(r[0]!.chain.map((c) => c.event)).toEqual(['dev_map', 'notifier_sub_done']);
  });

  it('does not fire when the translation was removed before the callback returned', () => {
    expect(check([map(), unmap(), done()])).toEqual([]);
  });

  it('does not fire for translations outside the range, of another mm, or of another subscriber', () => {
    expect(check([map(VA + 0x4000), map(VA, false, 'nic0', 'other'), map(VA, false, 'gpu0'), done()])).toEqual([]);
  });

  it('does not fire for a refused non-blockable range (skipped by the kernel), nor for a dead device', () => {
    expect(check([map(), done({ ok: false, blockable: false })])).toEqual([]);
    const dead: MmEventOf<'device_dead'> = { type: 'device_dead', time: 35, actor: 'nic0', device: 'nic0', reason: 'UMR recovery failed' };
    expect(check([map(), dead, done()])).toEqual([]);
  });

  it('a subscriber holding page references is checked at invalidate_range_end, not when its callback returns', () => {
    expect(check([map(VA, true), done()])).toEqual([]);
    expect(check([map(VA, true), done(), end()]).map((v) => v.time)).toEqual([50]);
    expect(check([map(VA, true), done(), unmap(), end()])).toEqual([]);
  });

  it('fires for a DMA still in flight on a page of the range, and not once the device drained it', () => {
    const r = check([hold(), done({ holder: 'gpu0' })]);
    expect(r).toHaveLength(1);
    expect(r[0]!.message).toMatch(/gpu0 has DMA gw in flight on pfn 0x2a/);
    expect(check([hold(), release(), done({ holder: 'gpu0' })])).toEqual([]);
  });
});

const example = (f: string) => JSON.parse(readFileSync(new URL(`../../../examples/${f}`, import.meta.url), 'utf8'));
const kinds = (s: unknown, policy: string) => runScenario(s, { policy }).violations.filter((v) => v.kind === 'notifier-teardown-incomplete');

describe('notifier-teardown-incomplete (scenarios)', () => {
  it('fires when the ODP NIC\'s zap UMR fails and, as mlx5_ib_invalidate_range() does, the invalidation returns with the MTTs kept', () => {
    const v = kinds(example('odp-nic-umr-failure.json'), 'linux-6.12');
    expect(v.length).toBeGreaterThan(0);
    expect(v[0]!.actor).toBe('nic0');
  });

  it('fires when a GPU acknowledges an invalidation before draining its copy (ackBeforeDrain)', () => {
    const v = kinds(example('gpu-hmm-ack-before-drain.json'), 'linux-6.12');
    expect(v.length).toBeGreaterThan(0);
    expect(v.some((x) => /in flight/.test(x.message))).toBe(true);
  });

  it('does not fire for the correct ODP NIC (truncate) nor for a dead device after a failed zap', () => {
    expect(kinds(example('odp-nic-truncate.json'), 'linux-4.20')).toEqual([]);
    expect(kinds(example('odp-nic-umr-failure-fatal.json'), 'linux-6.12')).toEqual([]);
  });
});
