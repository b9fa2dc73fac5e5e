/**
 * Every invariant keeps its meaning per base page when the pages belong to a huge page: one test
 * per kind, with a 2 MiB hugetlb page, where it fires and where it must not. The model emits a
 * large folio's events once: a PMD entry's set and a GUP of its pages with `nr`, its zap as one
 * range event of its pages, its free, page-cache removal and final counts by its head with `nrs`;
 * each checker keeps its books per base page (refcount-leak on the head, as the kernel counts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ViolationReport } from '../../../src/invariants/checker.js';
import { notifier_unpaired } from '../../../src/invariants/notifier-unpaired.js';
import { pinned_page_moved } from '../../../src/invariants/pinned-page-moved.js';
import { refcount_leak } from '../../../src/invariants/refcount-leak.js';
import type { MmEventOf, MmTraceEvent } from '../../../src/mm/trace_events.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { feed } from './fixtures.js';

type Json = Record<string, unknown>;
type Op = Json & { op: string };
const ROOT = new URL('../../../', import.meta.url);
const json = (path: string): Json => JSON.parse(readFileSync(new URL(path, ROOT), 'utf8')) as Json;

/** @s with every anonymous private mmap made MAP_HUGETLB (2 MiB), its munmaps whole, and a pool of @pool pages. */
function hugetlbOf(s: Json, pool = 4): Json {
  const out = structuredClone(s) as Json & { kernel: Json; actors: Record<string, Op[] | { process: string; ops: Op[] }> };
  out['kernel'] = { ...out.kernel, hugepages: { '2M': pool } };
  for (const a of Object.values(out.actors)) {
    for (const op of Array.isArray(a) ? a : a.ops) {
      if (op.op === 'mmap' && op['file'] === undefined) {
        op['flags'] = [...(op['flags'] as string[]), 'hugetlb'];
        op['length'] = '2M';
      }
      if (op.op === 'munmap') op['length'] = '2M';
    }
  }
  delete out['expect'];
  delete out['expectByPolicy'];
  return out;
}

const kinds = (s: Json, policy?: string): string[] => [...new Set(runScenario(s, policy ? { policy } : {}).violations.map((v) => v.kind))].sort();

/** A classic MR on a hugetlbfs file of two huge pages; the file is truncated or punched to its first one, then the NIC goes on at @offset. */
function mrOnHugetlbfs(cut: Op, nicOp: 'dma_write' | 'dma_read', offset: string): Json {
  return {
    name: 'mr-on-hugetlbfs',
    kernel: { memory: '64M', hugepages: { '2M': 2 } },
    files: { f: { fs: 'hugetlbfs', size: '4M' } },
    devices: { nic0: { model: 'gup-nic' } },
    actors: {
      app: [
        { op: 'mmap', file: 'f', length: '4M', prot: 'rw', flags: ['shared'], as: 'buf' },
        { op: 'store', addr: 'buf', offset: '2M', length: '4K', as: 's' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '4M', access: 'rw', as: 'mr' },
        { op: nicOp, mr: 'mr', offset, length: '4K', at: '300us', as: 'io' },
        { op: 'dereg_mr', mr: 'mr', at: '500us' },
      ],
      admin: [{ ...cut, at: '200us' }],
    },
  };
}
const TRUNCATE: Op = { op: 'ftruncate', file: 'f', length: '2M' };
const PUNCH: Op = { op: 'fallocate', file: 'f', mode: 'punch_hole', offset: '2M', length: '2M' };

/** A pinned private huge page, fork, then the parent writes: the pin and the CPU part ways before 5.12. */
const PIN_FORK_WRITE: Json = {
  name: 'pin-fork-write',
  kernel: { memory: '64M', hugepages: { '2M': 3 } },
  devices: { nic0: { model: 'gup-nic' } },
  actors: {
    app: [
      { op: 'mmap', length: '2M', prot: 'rw', flags: ['private', 'hugetlb'], as: 'buf' },
      { op: 'store', addr: 'buf', length: '4K', as: 's1' },
      { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '2M', access: 'rw', as: 'mr' },
      { op: 'fork', as: 'kid' },
      { op: 'store', addr: 'buf', length: '4K', as: 's2' },
      { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'nic' },
      { op: 'dereg_mr', mr: 'mr' },
    ],
  },
};

/** An ODP MR over a huge page whose zap UMR fails and is ignored; MADV_DONTNEED frees the page; someone else gets it. */
function odpStale(umrFailure: 'completion' | 'none'): Json {
  return {
    name: 'odp-stale-huge',
    kernel: { memory: '64M', hugepages: { '2M': 2 } },
    devices: { nic0: { model: 'odp-nic', umrFailure, unsafeIgnoreZapFailure: true } },
    actors: {
      app: [
        { op: 'mmap', length: '2M', prot: 'rw', flags: ['private', 'hugetlb'], as: 'buf' },
        { op: 'reg_mr', device: 'nic0', addr: 'buf', length: '2M', access: 'rw', hugetlb: true, as: 'mr' },
        { op: 'store', addr: 'buf', length: '4K', as: 's1' },
        { op: 'dma_read', mr: 'mr', offset: 0, length: '4K', as: 'warm' },
        { op: 'madvise', addr: 'buf', length: '2M', advice: 'dontneed', at: '300us' },
        { op: 'dma_write', mr: 'mr', offset: '8K', length: '4K', at: '500us', as: 'late' },
        { op: 'dereg_mr', mr: 'mr', at: '600us' },
      ],
      victim: [
        { op: 'mmap', length: '2M', prot: 'rw', flags: ['private', 'hugetlb'], at: '400us', as: 'vbuf' },
        { op: 'store', addr: 'vbuf', length: '4K', as: 'mine' },
      ],
    },
  };
}

describe('every invariant per base page of a huge page', () => {
  it('lost-write: a NIC writes into the truncated (orphaned) huge page; not into the huge page the file keeps', () => {
    expect(kinds(mrOnHugetlbfs(TRUNCATE, 'dma_write', '2M'))).toEqual(['lost-write']);
    expect(kinds(mrOnHugetlbfs(TRUNCATE, 'dma_write', '8K'))).toEqual([]);
  });

  it('stale-read: after a whole-huge-page hole punch the NIC reads the old page where the CPU reads zeros; not the page kept', () => {
    expect(kinds(mrOnHugetlbfs(PUNCH, 'dma_read', '2M'))).toEqual(['stale-read']);
    expect(kinds(mrOnHugetlbfs(PUNCH, 'dma_read', '8K'))).toEqual([]);
  });

  it('dummy-page-dma: lease-break-dummy redirects the NIC to the dummy page at truncate; not with a lease-less kernel', () => {
    expect(kinds(mrOnHugetlbfs(TRUNCATE, 'dma_write', '2M'), 'lease-break-dummy')).toEqual(['dummy-page-dma']);
    expect(kinds(mrOnHugetlbfs(TRUNCATE, 'dma_write', '2M'), 'block-truncate')).toEqual([]);
  });

  it('incoherent-mapping: a pinned huge page COW-shared by fork before 5.12, the parent copies away; from 5.12 fork copies it for the child', () => {
    expect(kinds(PIN_FORK_WRITE, 'linux-5.11')).toEqual(['incoherent-mapping']);
    expect(kinds(PIN_FORK_WRITE, 'linux-5.12')).toEqual([]);
  });

  it('dma-use-after-free and dma-into-reused-page: an ODP MR keeps a stale huge entry after a failed zap; not when the zap works', () => {
    expect(kinds(odpStale('completion'))).toEqual(['dma-into-reused-page', 'dma-use-after-free', 'kernel-warn', 'notifier-teardown-incomplete']);
    expect(kinds(odpStale('none'))).toEqual([]);
  });

  it('kernel-warn: the bad zap UMR completion WARNs from 6.0; not in 5.19', () => {
    expect(kinds(odpStale('completion'), 'linux-6.12')).toContain('kernel-warn');
    expect(kinds(odpStale('completion'), 'linux-5.19')).not.toContain('kernel-warn');
  });

  it('notifier-teardown-incomplete: a GPU acknowledges before its copy into the huge page drained; not without ackBeforeDrain', () => {
    const s = hugetlbOf(json('examples/gpu-hmm-ack-before-drain.json'));
    expect(kinds(s)).toContain('notifier-teardown-incomplete');
    const fixed = structuredClone(s) as { devices: { gpu0: Json } };
    fixed.devices.gpu0['ackBeforeDrain'] = false;
    expect(kinds(fixed as unknown as Json)).toEqual([]);
  });

  it('install-during-invalidation: a GPU skipping read_retry installs a snapshot of the huge page taken before munmap; not with read_retry', () => {
    const s = hugetlbOf(json('examples/gpu-hmm-skip-read-retry.json'));
    expect(kinds(s)).toContain('install-during-invalidation');
    const fixed = structuredClone(s) as { devices: { gpu0: Json } };
    fixed.devices.gpu0['skipReadRetry'] = false;
    expect(kinds(fixed as unknown as Json)).toEqual([]);
  });

  it('access-after-release: a GPU copies into a huge page of a process that is exiting; not once the copy drained first', () => {
    const s = hugetlbOf(json('docs/invariants/access-after-release.json'));
    expect(kinds(s)).toContain('access-after-release');
    const fixed = structuredClone(s) as { devices: { gpu0: Json } };
    fixed.devices.gpu0['ackBeforeDrain'] = false;
    expect(kinds(fixed as unknown as Json)).not.toContain('access-after-release');
  });

  it('notifier-unpaired: kernel.until stopping the run inside a 2 MiB MADV_DONTNEED\'s invalidation is a note, not a violation', () => {
    const s = structuredClone(odpStale('none')) as { devices: { nic0: Json }; kernel: Json };
    s.devices.nic0['invalidateLatency'] = '100us';
    expect(kinds(s as unknown as Json)).toEqual([]);
    s.kernel['until'] = '350us';
    const r = runScenario(s as unknown as Json);
    expect(r.violations.map((v) => v.kind)).not.toContain('notifier-unpaired');
    expect((r.notes ?? []).join('\n')).toMatch(/kernel\.until/);
  });

  it('hang: truncate of a hugetlbfs page a NIC pins waits for ever under block-truncate when the MR is never deregistered', () => {
    const s = structuredClone(mrOnHugetlbfs(TRUNCATE, 'dma_write', '8K')) as { actors: { app: Op[] }; kernel: Json };
    s.actors.app = s.actors.app.filter((o) => o.op !== 'dereg_mr');
    s.kernel['livenessBound'] = '1ms';
    expect(kinds(s as unknown as Json, 'block-truncate')).toEqual(['hang']);
    expect(kinds(mrOnHugetlbfs(TRUNCATE, 'dma_write', '8K'), 'block-truncate')).toEqual([]);
  });

  it('no writeback on hugetlbfs: releasing a writable MR with dirty never trips ext4\'s kernel-bug or dirty-page-without-buffers', () => {
    const s = structuredClone(mrOnHugetlbfs(TRUNCATE, 'dma_write', '8K')) as { actors: { app: Op[] } };
    s.actors.app.push({ op: 'fsync', file: 'f' }, { op: 'reclaim', target: 'buffers' }, { op: 'writeback_now' });
    expect(kinds(s as unknown as Json, 'linux-4.20')).toEqual([]);
  });
});

describe('the books of the checkers over a huge page, from synthetic traces', () => {
  const VA = 0x7f0000000000;
  const run = (c: typeof pinned_page_moved, evs: MmTraceEvent[]): ViolationReport[] => feed(c, evs, { policy: 'linux-6.12' });
  const get = (nr: number): MmEventOf<'dma_ref_get'> => ({
    type: 'dma_ref_get', time: 100, actor: 'app', ref: 1, holder: 'nic0', api: 'pin_user_pages(FOLL_LONGTERM)', mm: 'app', va: VA, pfn: 512 + 8,
    gen: 1, file: '', index: -1, flags: 0, fnames: 'FOLL_PIN|FOLL_LONGTERM', longterm: true, pin: true, refs: 1, refcount: 1 + nr, pincount: nr, nr, head: 512,
  });
  const put = (nr: number): MmEventOf<'dma_ref_put'> => ({
    type: 'dma_ref_put', time: 200, actor: 'app', ref: 1, holder: 'nic0', pfn: 512 + 8, gen: 1, dirty: false, pin: true, refs: 1, refcount: 1, pincount: 0, nr, head: 512,
  });

  it('pinned-page-moved: migrating or freeing a huge page with pins on some of its pages fires once, at the first pinned page; once they are unpinned it does not', () => {
    const migrate: MmEventOf<'folio_migrate'> = { type: 'folio_migrate', time: 300, actor: 'kcompactd0', old: 512, new: 1024, mm: 'app', va: VA, nr: 512 };
    expect(run(pinned_page_moved, [get(16), migrate]).map((v) => v.pfn)).toEqual([520]);
    expect(run(pinned_page_moved, [get(16), put(16), migrate])).toEqual([]);
    const free: MmEventOf<'folio_free'> = { type: 'folio_free', time: 300, actor: 'app', pfns: Int32Array.of(8, 512), nrs: Int32Array.of(1, 512) };
    const freed = run(pinned_page_moved, [get(16), free]);
    expect(freed.map((v) => v.pfn)).toEqual([520]);
    // The chain tells the free as the huge page's: its head and its pages.
    expect(freed[0]?.chain.at(-1)?.fields).toMatchObject({ pfn: 512, nr: 512 });
    expect(run(pinned_page_moved, [get(16), put(16), free])).toEqual([]);
  });

  it('notifier-unpaired: an invalidation of a whole huge page left open at the end fires; ended, it does not', () => {
    const start: MmEventOf<'notifier_start'> = { type: 'notifier_start', time: 10, actor: 'app', id: 7, mm: 'app', start: VA, end: VA + 2 * 1024 * 1024, event: 'MMU_NOTIFY_CLEAR', blockable: true };
    const end: MmEventOf<'notifier_end'> = { type: 'notifier_end', time: 20, actor: 'app', id: 7, mm: 'app' };
    const runEnd: MmEventOf<'run_end'> = { type: 'run_end', time: 30, actor: 'kernel', crashed: false };
    expect(run(notifier_unpaired, [start, runEnd]).map((v) => v.kind)).toEqual(['notifier-unpaired']);
    expect(run(notifier_unpaired, [start, end, runEnd])).toEqual([]);
  });

  it('refcount-leak: a huge page\'s pins are booked on its head, nr at a time', () => {
    const final = (refcount: number, pincount: number): MmEventOf<'frame_final'> => ({
      type: 'frame_final', time: 400, actor: 'kernel', pfns: Int32Array.of(512), gens: Uint32Array.of(1), refcounts: Int32Array.of(refcount),
      pincounts: Int32Array.of(pincount), mapcounts: Int32Array.of(1), nrs: Int32Array.of(512),
    });
    const vm = (acq: number, rel: number): MmEventOf<'vmstat_final'> => ({ type: 'vmstat_final', time: 400, actor: 'kernel', nr_foll_pin_acquired: acq, nr_foll_pin_released: rel });
    const set: MmEventOf<'pte_set'> = { type: 'pte_set', time: 50, actor: 'app', mm: 'app', va: VA, pfn: 512, write: true, refcount: 1, nr: 512 };
    expect(run(refcount_leak, [set, get(16), final(17, 16), vm(16, 0)])).toEqual([]);
    expect(run(refcount_leak, [set, get(16), put(16), final(17, 16), vm(16, 16)]).map((v) => v.pfn)).toEqual([512]);
  });

  it('refcount-leak: a huge entry\'s zap (its 512 pages listed) drops the one reference the entry held, on the head', () => {
    const set: MmEventOf<'pte_set'> = { type: 'pte_set', time: 50, actor: 'app', mm: 'app', va: VA, pfn: 512, write: true, refcount: 2, nr: 512 };
    const zap: MmEventOf<'pte_clear'> = {
      type: 'pte_clear', time: 60, actor: 'app', mm: 'app', start: VA, end: VA + 512 * 4096,
      pfns: Int32Array.from({ length: 512 }, (_, i) => 512 + i), dirty: new Uint8Array(512), nr: 512,
    };
    const final = (refcount: number): MmEventOf<'frame_final'> => ({
      type: 'frame_final', time: 400, actor: 'kernel', pfns: Int32Array.of(512), gens: Uint32Array.of(1), refcounts: Int32Array.of(refcount),
      pincounts: Int32Array.of(0), mapcounts: Int32Array.of(0), nrs: Int32Array.of(512),
    });
    const add: MmEventOf<'filemap_add'> = { type: 'filemap_add', time: 40, actor: 'app', file: 'f', index: 0, pfn: 512, gen: 1, refcount: 1, nr: 512 };
    // The page cache's reference remains: refcount 1 is accounted for, 2 is one too many.
    expect(run(refcount_leak, [add, set, zap, final(1)])).toEqual([]);
    expect(run(refcount_leak, [add, set, zap, final(2)]).map((v) => v.pfn)).toEqual([512]);
  });
});
