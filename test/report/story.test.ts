/**
 * Violations told as stories in kernel words (issue 6, deliverable 2): the lost write of
 * gup-nic-truncate in linux-4.20's words (a FOLL_GET reference via get_user_pages_longterm) and in
 * linux-5.7's (FOLL_PIN|FOLL_LONGTERM and the 1024 bias), the reused page of
 * odp-nic-umr-failure naming its new owner, one clause per chain event type the checkers
 * produce, and the text report that prints the stories first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toChain, type ChainFields } from '../../src/invariants/checker.js';
import type { MmChainEvent, MmChainEventOf } from '../../src/mm/trace_events.js';
import { tellChain } from '../../src/report/story.js';
import { formatRunText } from '../../src/report/text.js';
import { defaultRegistry } from '../../src/scenario/registry.js';
import type { RunResult, Violation } from '../../src/scenario/run/result.js';
import { runScenario } from '../../src/scenario/run/run.js';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const load = (f: string): unknown => JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8'));

function only(r: RunResult, kind: string): Violation {
  const vs = r.violations.filter((v) => v.kind === kind);
  expect(vs.length, `${kind} in ${r.scenario} under ${r.policy}`).toBe(1);
  return vs[0] as Violation;
}

describe('the lost write of gup-nic-truncate', () => {
  it('under linux-4.20 speaks of a FOLL_GET reference taken via get_user_pages_longterm', () => {
    const r = runScenario(load('gup-nic-truncate.json'), { policy: 'linux-4.20' });
    const story = tellChain(only(r, 'lost-write'), 'linux-4.20');
    const clauses = story.split(' → ');
    expect(clauses).toHaveLength(3);
    expect(clauses[0]).toMatch(/^t=\S+ nic0 took a FOLL_GET reference on pfn 0x1 \(f@0\) via get_user_pages_longterm, refcount 3$/);
    expect(clauses[1]).toBe("t=20.3µs admin truncate removed pfn 0x1 from f's page cache (refcount 1, orphaned)");
    expect(clauses[2]).toBe('t=30µs nic0 dma_write 4K into pfn 0x1: the write never reaches f');
    expect(story).not.toContain('FOLL_PIN');
    expect(story).not.toContain('pinned');
  });

  it('under linux-5.7 speaks of FOLL_PIN|FOLL_LONGTERM and the 1024 bias', () => {
    const r = runScenario(load('gup-nic-truncate.json'), { policy: 'linux-5.7' });
    const story = tellChain(only(r, 'lost-write'), 'linux-5.7');
    const clauses = story.split(' → ');
    expect(clauses).toHaveLength(3);
    expect(clauses[0]).toMatch(/^t=\S+ nic0 pinned pfn 0x1 \(f@0\) FOLL_PIN\|FOLL_LONGTERM, refcount 1026$/);
    expect(clauses[1]).toBe("t=20.3µs admin truncate removed pfn 0x1 from f's page cache (refcount 1024, orphaned)");
    expect(clauses[2]).toBe('t=30µs nic0 dma_write 4K into pfn 0x1: the write never reaches f');
    expect(story).not.toContain('FOLL_GET');
    expect(story).not.toContain('get_user_pages_longterm');
  });
});

describe('the reused page of odp-nic-umr-failure', () => {
  const r = runScenario(load('odp-nic-umr-failure.json'));

  it('tells the free, the reallocation to the victim and the DMA into it', () => {
    const story = tellChain(only(r, 'dma-into-reused-page'), r.policy);
    expect(story).toContain("admin truncate removed pfn 0x1 from f's page cache (refcount 0)");
    expect(story).toContain('admin freed pfn 0x1');
    expect(story).toContain('victim reallocated pfn 0x1 to anon:victim');
    expect(story).toMatch(/nic0 dma_write 4K into pfn 0x1: it now belongs to anon:victim$/);
  });

  it('tells the use-after-free and the incomplete teardown in their own terms', () => {
    expect(tellChain(only(r, 'dma-use-after-free'), r.policy)).toMatch(/dma_write 4K into pfn 0x1: the frame was freed$/);
    const teardown = tellChain(only(r, 'notifier-teardown-incomplete'), r.policy);
    expect(teardown).toContain('nic0 installed a translation of app va 0x7effffff0000 to pfn 0x1 (f@0) in its page tables');
    expect(teardown).toContain("nic0 acknowledged admin's MMU_NOTIFY_CLEAR of app");
    expect(teardown).toMatch(/yet it still translates app va 0x7effffff0000 to pfn 0x1 \(f@0\)$/);
  });
});

/** One hand-made chain step: time (ns), actor, the event type and every field of that event. */
type Step = { [T in MmChainEvent['type']]: [number, string, T, ChainFields<MmChainEventOf<T>>] }[MmChainEvent['type']];

/** A violation of @kind whose chain is @steps, each made a typed record by the checkers' own toChain(). */
function v(kind: string, steps: Step[]): Violation {
  const last = steps[steps.length - 1];
  return {
    kind, time: last?.[0] ?? 0, actor: last?.[1] ?? '', pfn: 1, message: 'the story never reads this',
    chain: steps.map(([time, actor, type, fields]) => toChain({ type, time, actor, ...fields } as MmChainEvent)),
  };
}

const ACCESS = { wr: 'w', device: 'nic0', op: 'dma_write', length: 4096, mm: 'app', va: 0x7f0000, pfn: 1, gen: 1, file: 'f', index: 0, write: true, token: 1, ok: true, cpuPfn: 1, cpuToken: 0 };
const REF = { ref: 1, holder: 'nic0', mm: 'app', va: 0x1000, pfn: 1, gen: 1, file: 'f', index: 0, flags: 0, refs: 1, pincount: 0 };
const SUB = { id: 3, holder: 'nic0', mm: 'app', start: 0, end: 0x1000, ok: true, blockable: true, owner: '' };
const DEV_MAP = { device: 'gpu0', mm: 'app', va: 0x1000, pfn: 1, gen: 1, file: '', index: -1, write: true, snapSeq: 5, holdsRef: false };
const START = { id: 1, mm: 'app', start: 0x1000, end: 0x2000, event: 'MMU_NOTIFY_UNMAP', blockable: true };

describe('one clause per chain event type', () => {
  const cases: [string, Violation, string[]][] = [
    ['dma_ref_get of a FOLL_GET reference, in the API the era used', v('lost-write', [[100, 'nic0', 'dma_ref_get', {
      ...REF, api: 'get_user_pages_longterm', fnames: 'FOLL_GET|FOLL_LONGTERM|FOLL_WRITE', longterm: true, pin: false, refcount: 3,
    }]]), ['nic0 took a FOLL_GET reference on pfn 0x1 (f@0) via get_user_pages_longterm, refcount 3']],
    ['dma_ref_get of an anonymous page', v('incoherent-mapping', [[100, 'app', 'dma_ref_get', {
      ...REF, holder: 'app', pfn: 5, file: '', index: -1, api: 'get_user_pages', fnames: 'FOLL_GET', longterm: false, pin: false, refcount: 2,
    }]]), ['app took a FOLL_GET reference on pfn 0x5 (app va 0x1000) via get_user_pages, refcount 2']],
    ['dma_ref_put of a pin, with dirty', v('refcount-leak', [[100, 'nic0', 'dma_ref_put', { ref: 1, holder: 'nic0', pfn: 1, gen: 1, dirty: true, pin: true, refs: 1024, refcount: 2, pincount: 0 }]]),
      ['nic0 unpinned pfn 0x1 with dirty (unpin_user_pages_dirty_lock), refcount 2']],
    ['folio_alloc to a file', v('dma-into-reused-page', [[100, 'app', 'folio_alloc', { pfn: 1, gen: 2, owner: 'file', file: 'g', index: 3 }]]),
      ["app reallocated pfn 0x1 to g@3's page cache"]],
    ['stale-read ending', v('stale-read', [[100, 'nic0', 'dma_access', { ...ACCESS, op: 'dma_read', write: false, token: 2, cpuToken: 5 }]]),
      ['nic0 dma_read 4K from pfn 0x1: it read token 2 where a CPU load would see token 5']],
    ['lost-write ending of a CPU store', v('lost-write', [[100, 'app', 'cpu_access', { mm: 'app', va: 0x1000, pfn: 1, gen: 1, file: 'f', index: 0, write: true, token: 1, shared: true }]]),
      ["app store into pfn 0x1 (f@0) through app va 0x1000 (shared mapping): the write never reaches f"]],
    ['incoherent-mapping: pte_clear, pte_set, access', v('incoherent-mapping', [
      [100, 'app', 'pte_clear', { mm: 'app', va: 0x1000, pfn: 1, dirty: true }],
      [200, 'app', 'pte_set', { mm: 'app', va: 0x1000, pfn: 3, write: true, refcount: 1 }],
      [300, 'nic0', 'dma_access', { ...ACCESS, pfn: 1, cpuPfn: 3 }]]),
    ['app zapped the PTE of app va 0x1000 mapping pfn 0x1 (dirty)', 'app mapped pfn 0x3 at app va 0x1000 (writable PTE, refcount 1)', "dma_write 4K into pfn 0x1: app's PTE there maps pfn 0x3"]],
    ['install-during-invalidation across a snapshot: the invalidation ended before the install', v('install-during-invalidation', [
      [100, 'unmapper', 'notifier_start', START],
      [150, 'unmapper', 'notifier_end', { id: 1, mm: 'app' }],
      [200, 'gpu0', 'dev_map', DEV_MAP]]),
    ['unmapper started MMU_NOTIFY_UNMAP of app [0x1000, 0x2000) (range 1)', 'unmapper ended range 1 (invalidate_range_end)',
      'gpu0 installed a translation of app va 0x1000 to pfn 0x1 in its page tables: from a snapshot', 'mmu_interval_read_retry']],
    ['install-during-invalidation while the invalidation is open', v('install-during-invalidation', [
      [100, 'unmapper', 'notifier_start', START],
      [200, 'gpu0', 'dev_map', { ...DEV_MAP, write: false }]]),
    ['gpu0 installed a translation of app va 0x1000 to pfn 0x1 in its page tables read-only while that invalidation was open']],
    ['notifier-failed-blockable', v('notifier-failed-blockable', [[100, 'admin', 'notifier_sub_done', { ...SUB, id: 2, ok: false, event: 'MMU_NOTIFY_CLEAR' }]]),
      ["nic0 failed its invalidate for admin's MMU_NOTIFY_CLEAR of app [0x0, 0x1000) (range 2): the range is blockable, so the kernel WARNs and proceeds"]],
    ['notifier-unpaired start', v('notifier-unpaired', [[100, 'admin', 'notifier_start', { ...START, id: 4, start: 0, end: 0x1000, event: 'MMU_NOTIFY_CLEAR', blockable: false }]]),
      ['admin started MMU_NOTIFY_CLEAR of app [0x0, 0x1000) (range 4, non-blockable), and never ended it']],
    ['writeback_skip (ext4 ≥ 5.18)', v('lost-write', [
      [100, 'kswapd0', 'folio_buffers', { pfn: 1, file: 'f', index: 0, attached: false }],
      [200, 'nic0', 'folio_dirty', { pfn: 1, file: 'f', index: 0, buffers: false, via: 'unpin:nic0' }],
      [300, 'app', 'writeback_skip', { file: 'f', index: 0, pfn: 1, token: 4 }]]),
    ['kswapd0 stripped the buffers of pfn 0x1 (f@0)', "nic0 dirtied pfn 0x1 (f@0) behind the filesystem's back", 'app writeback skipped dirty pfn 0x1 (f@0), which has no buffers: its data never reaches f']],
    ['storage_write and buffers attached', v('dirty-page-without-buffers', [
      [100, 'app', 'storage_write', { file: 'f', index: 0, pfn: 1, token: 1 }],
      [200, 'app', 'folio_buffers', { pfn: 1, file: 'f', index: 0, attached: true }]]),
    ['app wrote pfn 0x1 (f@0) back to storage: writeback cleaned it', 'app attached buffers to pfn 0x1 (f@0)']],
    ['dummy-page-dma', v('dummy-page-dma', [
      [100, 'nic0', 'dummy_redirect', { device: 'nic0', pfn: 1, dummy: 9, mm: 'app', va: 0x1000 }],
      [200, 'nic0', 'dma_access', { ...ACCESS, pfn: 9 }]]),
    ['nic0 was redirected from pfn 0x1 to the dummy page pfn 0x9 (app va 0x1000)', 'dma_write 4K into pfn 0x9: that is the dummy page, so the data is gone']],
    ['cow_copy under 5.9-5.18 (refcount rule) and 5.19+ (exclusive rule), and an unshare', v('incoherent-mapping', [
      [100, 'app', 'cow_copy', { mm: 'app', va: 0x1000, pfn: 1, refcount: 1025, mapcount: 1, exclusive: false, rule: 'refcount', unshare: false }],
      [200, 'app', 'cow_copy', { mm: 'app', va: 0x1000, pfn: 2, refcount: 2, mapcount: 1, exclusive: false, rule: 'anon_exclusive', unshare: true }]]),
    ["app's write fault at app va 0x1000: do_wp_page copied pfn 0x1 though only app maps it: refcount 1025 shows another holder (5.9–5.18: a page is reused only for a sole holder)",
      "app's unshare fault at app va 0x1000: do_wp_page copied pfn 0x2 though only app maps it: it is not PageAnonExclusive and refcount 2 shows another holder"]],
    ['gup_cow: 5.8 forced break, 5.19 and 6.2 unshare', v('incoherent-mapping', [
      [100, 'app', 'gup_cow', { holder: 'dio', mm: 'app', va: 0x1000, pfn: 1, fnames: 'FOLL_PIN', reason: 'force_cow_break' }],
      [200, 'app', 'gup_cow', { holder: 'dio', mm: 'app', va: 0x1000, pfn: 1, fnames: 'FOLL_PIN', reason: 'unshare_anon' }],
      [300, 'app', 'gup_cow', { holder: 'nic0', mm: 'app', va: 0x2000, pfn: 0, fnames: 'FOLL_PIN|FOLL_LONGTERM', reason: 'unshare_longterm_cow' }]]),
    ["5.8: GUP broke COW: dio's FOLL_PIN of app va 0x1000 (pfn 0x1) write-faulted first",
      'R/O FOLL_PIN of a non-exclusive anon page: unshare fault at app va 0x1000 (pfn 0x1) before dio pins it',
      'R/O FOLL_LONGTERM pin of a non-anonymous page in a COW mapping: unshare fault at app va 0x2000 (the shared zero page) before nic0 pins it (6.2)']],
    ['kernel-bug', v('kernel-bug', [[100, 'app', 'kernel_bug', { site: 'fs/ext4/inode.c:mpage_prepare_extent_to_map', pfn: 1, dump: 'page:pfn 0x1' }]]),
      ['app hit kernel BUG at fs/ext4/inode.c:mpage_prepare_extent_to_map: page:pfn 0x1']],
    ['hang', v('hang', [
      [100, 'admin', 'op_start', { op: 'ftruncate', name: 'admin.0' }],
      [900, 'admin', 'op_blocked', { op: 'ftruncate', name: 'admin.0', since: 100, wq: 'pin_registry' }]]),
    ['admin started ftruncate (admin.0)', "admin's ftruncate (admin.0) is still blocked when the run ends, waiting on pin_registry"]],
    ['pinned-page-moved by migration', v('pinned-page-moved', [[100, 'app', 'folio_migrate', { old: 1, new: 7, mm: 'app', va: 0x1000 }]]),
      ['app migrated app va 0x1000 from pfn 0x1 to pfn 0x7: the device keeps the old frame']],
    ['access-after-release', v('access-after-release', [
      [100, 'app', 'notifier_sub_done', { ...SUB, event: 'MMU_NOTIFY_RELEASE' }],
      [200, 'nic0', 'dma_access', { ...ACCESS, op: 'dma_read', write: false, token: 0 }]]),
    ["nic0 acknowledged app's MMU_NOTIFY_RELEASE", 'dma_read 4K from pfn 0x1: app was already released']],
    ['generic fallback for an event the story has no clause of', v('refcount-leak', [[100, 'kernel', 'i_size', { file: 'f', old: 8192, size: 0 }]]),
      ['t=100ns kernel i_size file=f old=8192 size=0']],
  ];

  it.each(cases)('%s', (_name, viol, phrases) => {
    const story = tellChain(viol, 'linux-4.20');
    for (const p of phrases) expect(story).toContain(p);
    expect(story.split(' → ')).toHaveLength(viol.chain.length);
    for (const c of story.split(' → ')) expect(c).toMatch(/^t=\d+(\.\d+)?(ns|µs|ms|s) /);
  });

  it('tells a reference in the words its record carries, whatever policy the caller names', () => {
    const pin = v('lost-write', [[100, 'nic0', 'dma_ref_get', {
      ...REF, api: 'pin_user_pages(FOLL_LONGTERM)', fnames: 'FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE', longterm: true, pin: true, refs: 1024, refcount: 1026, pincount: 1,
    }]]);
    for (const policy of ['linux-4.20', 'linux-6.12', 'block-truncate']) {
      expect(tellChain(pin, policy)).toContain('nic0 pinned pfn 0x1 (f@0) FOLL_PIN|FOLL_LONGTERM, refcount 1026');
    }
  });

  it('never reads the checker\'s message: the same chain tells the same story whatever the message says', () => {
    const a = v('install-during-invalidation', [[100, 'unmapper', 'notifier_start', START], [200, 'gpu0', 'dev_map', DEV_MAP]]);
    const b = { ...a, message: 'from a snapshot taken before … was open … reallocated to nobody' };
    expect(tellChain(b, 'linux-6.12')).toBe(tellChain(a, 'linux-6.12'));
  });

  it('chain steps serialise in the result shape { time, actor, event, fields, pfn? }, fields in the event\'s order', () => {
    const [step] = v('lost-write', [[100, 'nic0', 'dma_access', ACCESS]]).chain;
    expect(JSON.parse(JSON.stringify(step))).toEqual({ time: 100, actor: 'nic0', event: 'dma_access', fields: ACCESS, pfn: 1 });
    expect(Object.keys(step!)).toEqual(['time', 'actor', 'event', 'fields', 'pfn']);
    expect(Object.keys(step!.fields)).toEqual(Object.keys(ACCESS));
  });
});

describe('every violation of every example under every policy', () => {
  const files = (readdirSync(EXAMPLES, { recursive: true }) as string[]).filter((f) => f.endsWith('.json')).sort();
  const policies = [...defaultRegistry().policies.keys()];

  it('is told with a kernel-words clause for each chain step, never the generic key=val fallback', () => {
    let told = 0;
    for (const f of files) {
      for (const policy of policies) {
        const r = runScenario(load(f), { policy });
        for (const viol of r.violations) {
          const clauses = tellChain(viol, policy).split(' → ');
          expect(clauses).toHaveLength(viol.chain.length);
          for (const c of clauses) expect(c, `${f} under ${policy}: ${viol.kind}`).not.toMatch(/ [a-z_]+=\S/);
          told++;
        }
      }
    }
    expect(told).toBeGreaterThan(10);
  });
});

describe('formatRunText()', () => {
  const r = runScenario(load('gup-nic-truncate.json'), { policy: 'linux-4.20' });

  it('prints each violation with its story first, then the summary', () => {
    const text = formatRunText(r);
    const story = tellChain(only(r, 'lost-write'), 'linux-4.20');
    expect(text).toContain(`    ${story}\n`);
    expect(text.indexOf('lost-write at 30µs by nic0')).toBeLessThan(text.indexOf(story));
    expect(text.indexOf(story)).toBeLessThan(text.indexOf('scenario  gup-nic-truncate'));
    expect(text.indexOf('scenario')).toBeLessThan(text.indexOf('traceHash'));
    expect(text).not.toMatch(/dma_ref_get|filemap_remove/);
  });

  it('keeps the raw chain steps behind rawChains', () => {
    const text = formatRunText(r, { rawChains: true });
    expect(text).toMatch(/t=\S+ nic0 dma_ref_get pfn 0x1 f@0 api=get_user_pages_longterm/);
    expect(text).toMatch(/admin filemap_remove pfn 0x1 f@0 refcount=1 reason=truncate/);
    expect(text).toContain(tellChain(only(r, 'lost-write'), 'linux-4.20'));
  });
});

describe('stories about huge pages', () => {
  it('the lost write of gup-nic-hugetlbfs-truncate names the pages pinned at once, the head\'s counts and the 2M folio truncate removed', () => {
    const r = runScenario(load('hugetlb/gup-nic-hugetlbfs-truncate.json'));
    const s = tellChain(only(r, 'lost-write'), r.policy);
    expect(s).toMatch(/nic0 pinned 1024 pages from pfn 0x\w+ \(f@0\) FOLL_PIN\|FOLL_LONGTERM|nic0 pinned 512 pages from pfn 0x\w+ \(f@512\) FOLL_PIN\|FOLL_LONGTERM, refcount \d+, pincount 512 on its head pfn 0x\w+/);
    expect(s).toMatch(/admin truncate removed pfn 0x\w+ \(a 2M folio\) from f's page cache \(refcount \d+, orphaned\)/);
    expect(s).toMatch(/the write never reaches f$/);
  });

  it('an incoherent huge page after fork (before 5.12) speaks of PMD entries', () => {
    const r = runScenario(JSON.parse(readFileSync(join(import.meta.dirname, '..', 'conformance', 'cow', 'COW-08-fork_with_fixed_buffer-hugetlb.json'), 'utf8')), { policy: 'linux-5.9' });
    const s = tellChain(only(r, 'incoherent-mapping'), r.policy);
    expect(s).toMatch(/app zapped the PMD entry of app va 0x\w+ mapping pfn 0x\w+ \(a 2M folio\)/);
    expect(s).toMatch(/app mapped pfn 0x\w+ \(a 2M folio\) at app va 0x\w+ \(writable PMD entry, refcount 1\)/);
  });
});
