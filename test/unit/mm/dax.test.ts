import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { delay, type Co } from '../../../src/engine/actor.js';
import { cpu_access } from '../../../src/mm/cpu.js';
import type { Errno } from '../../../src/mm/errno.js';
import { filemap_get_folio } from '../../../src/mm/filemap.js';
import { do_punch_hole, vfs_fsync_range } from '../../../src/mm/fs/read_write.js';
import { get_user_pages_unlocked, unpin_user_pages_dirty_lock } from '../../../src/mm/gup.js';
import { do_mmap, do_munmap } from '../../../src/mm/mmap.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { do_truncate } from '../../../src/mm/truncate.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PG_dax, PG_private } from '../../../src/mm/types.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';
import { pagesOfType } from '../../helpers/pages.js';

const example = (name: string) => JSON.parse(readFileSync(new URL(`../../../examples/${name}.json`, import.meta.url), 'utf8'));
const ERAS = ['4.20', '6.12'] as const;
type Era = (typeof ERAS)[number];

/** A process with a written shared mapping of a 4-page fsdax file. */
function setup(era: Era, fs: 'ext4' | 'xfs' = 'xfs') {
  const t = makeKernel(era);
  const p = t.k.create_process('p');
  const f = t.k.create_inode('f', fs, true, 4 * PAGE);
  const a = t.run(do_mmap(t.k, p.mm, { addr: null, length: 4 * PAGE, prot: 'rw', shared: true, private: false, fixed: false, populate: false, file: f, offset: 0 }, '')) as number;
  t.run(cpu_access(t.k, p.mm, a, 4 * PAGE, t.k.new_content('s1')));
  const pfns = [0, 1, 2, 3].map((i) => filemap_get_folio(f.i_mapping, i));
  return { t, mm: p.mm, f, a, pfns };
}

/** The era's short-term (O_DIRECT-style) writable GUP flags. */
const shortTerm = (era: Era) => (era === '4.20' ? FOLL_GET : FOLL_PIN) | FOLL_WRITE;

/** Run @op as actor "admin" while actor "io" releases @ref (dirty) at @unpinAt; Return: timings. */
function race(t: TestKernel, op: Co<0 | Errno>, ref: DmaRef, unpinAt: number) {
  const out = { res: null as 0 | Errno | null, end: -1, unpinTime: -1 };
  const admin = t.sched.spawn('admin', (function* () {
    out.res = yield* op;
    out.end = t.k.now;
  })());
  t.sched.spawn('io', (function* () {
    yield* delay(unpinAt - t.k.now, 'test:io_in_flight');
    out.unpinTime = t.k.now;
    yield* unpin_user_pages_dirty_lock(t.k, ref, true);
  })());
  t.sched.run();
  return { ...out, blocked: admin.blockedNs };
}

describe('fsdax truncate breaks layouts (fs/dax.c dax_layout_busy_page_range)', () => {
  it.each(ERAS)('under linux-%s a truncate with no reference beyond the mappings does not wait, and frees the frames', (era) => {
    const { t, f, pfns } = setup(era);
    expect(pfns.every((p) => (t.k.mem.flags[p]! & PG_dax) !== 0)).toBe(true);
    const admin = t.sched.spawn('admin', do_truncate(t.k, f, 0));
    t.sched.run();
    expect(admin.result).toBe(0);
    expect(admin.blockedNs).toBe(0);
    expect(t.events.some((e) => e.type === 'dax_busy_wait')).toBe(false);
    expect(pfns.map((p) => t.k.mem.free[p])).toEqual([1, 1, 1, 1]);
    expect(f.i_mapping.i_pages.count).toBe(0);
  });

  it.each(ERAS)('under linux-%s a truncate waits for a short-term GUP reference: blocked at least until the unpin, ending after it, frames freed only then', (era) => {
    const { t, mm, f, a, pfns } = setup(era);
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 1, shortTerm(era), 'odirect')) as DmaRef;
    const pinned = ref.pfns[0] as number;
    expect(pinned).toBe(pfns[0]);
    const t0 = t.k.now;
    const unpinAt = t0 + 30_000;
    const r = race(t, do_truncate(t.k, f, 0), ref, unpinAt);
    expect(r.res).toBe(0);
    expect(r.unpinTime).toBe(unpinAt);
    expect(r.end).toBeGreaterThanOrEqual(r.unpinTime);
    expect(r.blocked).toBeGreaterThanOrEqual(unpinAt - t0 - 1_000);
    const wait = t.events.find((e) => e.type === 'dax_busy_wait');
    expect(wait).toMatchObject({ pfn: pinned, actor: 'admin' });
    // The pinned frame is not freed before the unpin; every frame is free afterwards.
    const frees = pagesOfType(t.events, 'folio_free').filter((e) => pfns.includes(e.pfn));
    expect(frees).toHaveLength(4);
    expect(frees.every((e) => e.time >= unpinAt)).toBe(true);
    expect(pfns.map((p) => t.k.mem.free[p])).toEqual([1, 1, 1, 1]);
    // i_size is not changed before the wait ends (ext4_setattr/xfs_setattr_size break layouts first).
    const isz = t.events.find((e) => e.type === 'i_size' && e.size === 0)!;
    expect(isz.time).toBeGreaterThanOrEqual(unpinAt);
  });

  it.each(ERAS)('under linux-%s a long-term pin of fsdax is refused with EOPNOTSUPP and takes no reference', (era) => {
    const { t, mm, a, pfns } = setup(era);
    const rc = pfns.map((p) => t.k.mem._refcount[p]);
    const flags = (era === '4.20' ? FOLL_GET : FOLL_PIN) | FOLL_LONGTERM | FOLL_WRITE;
    expect(t.run(get_user_pages_unlocked(t.k, mm, a, 4, flags, 'nic0'))).toBe('EOPNOTSUPP');
    expect(t.run(get_user_pages_unlocked(t.k, mm, a, 4, flags & ~FOLL_WRITE, 'nic0'))).toBe('EOPNOTSUPP');
    expect(pfns.map((p) => t.k.mem._refcount[p])).toEqual(rc);
    expect(t.events.some((e) => e.type === 'dma_ref_get')).toBe(false);
  });

  it.each(['linux-4.20', 'linux-6.12'])('a classic MR over fsdax is refused with EOPNOTSUPP under %s, while a short-term pin works', (policy) => {
    const r = runScenario(example('dax-longterm-pin-refused'), { policy });
    expect(r.results['mr']).toBe('EOPNOTSUPP');
    expect(r.results['odirect']).toBe('ok');
    expect(r.results['app.3']).toBe('ok');
    expect(r.violations).toEqual([]);
  });

  it.each(['linux-4.20', 'linux-6.12'])('scenario under %s: truncate blocks on a short-term pin until the unpin at 40us, then completes', (policy) => {
    const r = runScenario(example('dax-truncate-waits-for-gup'), { policy });
    expect(r.results['admin.0']).toBe('ok');
    expect(r.ops['admin.0']!.blockedNs).toBeGreaterThanOrEqual(29_000);
    expect(r.ops['admin.0']!.end).toBeGreaterThanOrEqual(40_000);
    expect(r.ops['admin.0']!.end).toBeLessThanOrEqual(41_000);
    expect(r.violations).toEqual([]);
    expect(r.expectations.met).toBe(true);
  });
});

describe('fsdax dirtying and writeback', () => {
  it.each(ERAS)('under linux-%s dirtying a DAX page (store fault, unpin with dirty) never WARNs about buffers, attaches none, and fsync is a no-op', (era) => {
    const { t, mm, f, a, pfns } = setup(era, 'ext4');
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 2, shortTerm(era), 'odirect')) as DmaRef;
    t.run(unpin_user_pages_dirty_lock(t.k, ref, true));
    expect(t.run(vfs_fsync_range(t.k, f))).toBe(0);
    expect(t.events.filter((e) => e.type === 'kernel_warn' || e.type === 'kernel_bug')).toEqual([]);
    expect(pfns.every((p) => (t.k.mem.flags[p]! & PG_private) === 0)).toBe(true);
    expect(t.events.some((e) => e.type === 'writeback_skip' || e.type === 'storage_write')).toBe(false);
  });
});

describe('fsdax break-layouts covers the whole file (ext4_break_layouts / xfs_break_dax_layouts → dax_layout_busy_page(mapping))', () => {
  it.each(ERAS)('under linux-%s a punch of a page beside the one a short-term reference holds waits for the unpin too', (era) => {
    const { t, mm, f, a, pfns } = setup(era);
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a + PAGE, 1, shortTerm(era), 'odirect')) as DmaRef;
    const t0 = t.k.now;
    // Page 2 is idle, page 1 is busy: the scan from index 0 finds page 1 and the punch waits.
    const r = race(t, do_punch_hole(t.k, f, 2 * PAGE, PAGE), ref, t0 + 20_000);
    expect(r.res).toBe(0);
    expect(r.end).toBeGreaterThanOrEqual(r.unpinTime);
    expect(r.blocked).toBeGreaterThanOrEqual(19_000);
    expect(t.events.filter((e) => e.type === 'dax_busy_wait').map((e) => e.pfn)).toEqual([pfns[1]]);
    // Only the hole's block goes; the busy page (outside the hole) stays the file's.
    expect(t.k.mem.free[pfns[2]!]).toBe(1);
    expect(filemap_get_folio(f.i_mapping, 1)).toBe(pfns[1]);
    expect(f.i_size).toBe(4 * PAGE);
  });

  it.each(ERAS)('under linux-%s a truncate to 3 pages waits for a reference on page 0, which it does not even remove', (era) => {
    const { t, mm, f, a, pfns } = setup(era);
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a, 1, shortTerm(era), 'odirect')) as DmaRef;
    const t0 = t.k.now;
    const r = race(t, do_truncate(t.k, f, 3 * PAGE), ref, t0 + 20_000);
    expect(r.res).toBe(0);
    expect(r.blocked).toBeGreaterThanOrEqual(19_000);
    expect(t.events.filter((e) => e.type === 'dax_busy_wait').map((e) => e.pfn)).toEqual([pfns[0]]);
    expect(t.k.mem.free[pfns[3]!]).toBe(1);
    expect(t.k.mem.free[pfns[0]!]).toBe(0);
  });

  it.each(ERAS)('under linux-%s growing a DAX file breaks layouts too: it waits for the busy page and unmaps the whole file', (era) => {
    const { t, mm, f, a, pfns } = setup(era);
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a + 3 * PAGE, 1, shortTerm(era), 'odirect')) as DmaRef;
    const t0 = t.k.now;
    const r = race(t, do_truncate(t.k, f, 8 * PAGE), ref, t0 + 20_000);
    expect(r.res).toBe(0);
    expect(r.blocked).toBeGreaterThanOrEqual(19_000);
    expect(t.events.filter((e) => e.type === 'dax_busy_wait').map((e) => e.pfn)).toEqual([pfns[3]]);
    expect(f.i_size).toBe(8 * PAGE);
    expect(mm.pgtable.count).toBe(0);
  });

  it.each(ERAS)('under linux-%s a one-page punch invalidates every mapping of the file, each over its whole span', (era) => {
    const { t, f, a } = setup(era);
    const q = t.k.create_process('q');
    const b = t.run(do_mmap(t.k, q.mm, { addr: null, length: 2 * PAGE, prot: 'r', shared: true, private: false, fixed: false, populate: false, file: f, offset: 2 * PAGE }, '')) as number;
    t.run(do_punch_hole(t.k, f, 0, PAGE));
    const starts = t.events.filter((e) => e.type === 'notifier_start').map((e) => [e.mm, e.start, e.end]);
    expect(starts).toContainEqual(['p', a, a + 4 * PAGE]);
    expect(starts).toContainEqual(['q', b, b + 2 * PAGE]);
  });

  it('a private COW copy of a DAX file is zapped by a punch elsewhere in the file before 5.3 (even_cows), kept from 5.3', () => {
    for (const [era, kept] of [['4.20', false], ['5.3', true], ['6.12', true]] as const) {
      const t = makeKernel(era);
      const p = t.k.create_process('p');
      const f = t.k.create_inode('f', 'xfs', true, 4 * PAGE);
      const a = t.run(do_mmap(t.k, p.mm, { addr: null, length: 4 * PAGE, prot: 'rw', shared: false, private: true, fixed: false, populate: false, file: f, offset: 0 }, '')) as number;
      t.run(cpu_access(t.k, p.mm, a, PAGE, t.k.new_content('mine')));
      const cow = t.k.mem.content.indexOf(t.k.contents.indexOf('mine'));
      expect(cow).toBeGreaterThan(0);
      t.run(do_punch_hole(t.k, f, 2 * PAGE, PAGE));
      expect(t.k.mem.free[cow] === 0, `linux-${era}`).toBe(kept);
    }
  });

  it('a reference kept after munmap: before 6.15 mapping_mapped() is false and the truncate does not wait; from 6.15 it waits', () => {
    for (const [era, waits] of [['6.12', false], ['6.15', true]] as const) {
      const t = makeKernel(era);
      const p = t.k.create_process('p');
      const f = t.k.create_inode('f', 'xfs', true, 4 * PAGE);
      const a = t.run(do_mmap(t.k, p.mm, { addr: null, length: 4 * PAGE, prot: 'rw', shared: true, private: false, fixed: false, populate: false, file: f, offset: 0 }, '')) as number;
      t.run(cpu_access(t.k, p.mm, a, 4 * PAGE, t.k.new_content('s1')));
      const ref = t.run(get_user_pages_unlocked(t.k, p.mm, a, 1, FOLL_PIN | FOLL_WRITE, 'odirect')) as DmaRef;
      t.run(do_munmap(t.k, p.mm, a, 4 * PAGE));
      const r = race(t, do_truncate(t.k, f, 0), ref, t.k.now + 20_000);
      expect(r.res).toBe(0);
      expect(t.events.some((e) => e.type === 'dax_busy_wait'), `linux-${era}`).toBe(waits);
    }
  });
});
