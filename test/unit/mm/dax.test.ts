import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { delay, type Co } from '../../../src/engine/actor.js';
import { cpu_access } from '../../../src/mm/cpu.js';
import type { Errno } from '../../../src/mm/errno.js';
import { filemap_get_folio } from '../../../src/mm/filemap.js';
import { do_punch_hole, vfs_fsync_range } from '../../../src/mm/fs/read_write.js';
import { get_user_pages_unlocked, unpin_user_pages_dirty_lock } from '../../../src/mm/gup.js';
import { do_mmap } from '../../../src/mm/mmap.js';
import type { DmaRef } from '../../../src/mm/pin_registry.js';
import { do_truncate } from '../../../src/mm/truncate.js';
import { FOLL_GET, FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, PG_dax, PG_private } from '../../../src/mm/types.js';
import { runScenario } from '../../../src/scenario/run/run.js';
import { makeKernel, PAGE, type TestKernel } from '../../helpers/kernel.js';

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
    const frees = t.events.filter((e) => e.type === 'folio_free' && pfns.includes(e.pfn));
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

describe('fsdax punch-hole breaks layouts too', () => {
  it.each(ERAS)('under linux-%s a punch over a page a short-term reference holds waits for the unpin; one beside it does not', (era) => {
    const { t, mm, f, a, pfns } = setup(era);
    const ref = t.run(get_user_pages_unlocked(t.k, mm, a + PAGE, 1, shortTerm(era), 'odirect')) as DmaRef;
    // Page 2 is not busy: no wait.
    const beside = t.sched.spawn('admin0', do_punch_hole(t.k, f, 2 * PAGE, PAGE));
    t.sched.run();
    expect(beside.result).toBe(0);
    expect(beside.blockedNs).toBe(0);
    expect(t.k.mem.free[pfns[2]!]).toBe(1);
    const t0 = t.k.now;
    const r = race(t, do_punch_hole(t.k, f, PAGE, PAGE), ref, t0 + 20_000);
    expect(r.res).toBe(0);
    expect(r.end).toBeGreaterThanOrEqual(r.unpinTime);
    expect(r.blocked).toBeGreaterThanOrEqual(19_000);
    expect(t.events.filter((e) => e.type === 'dax_busy_wait').map((e) => e.pfn)).toEqual([pfns[1]]);
    expect(t.k.mem.free[pfns[1]!]).toBe(1);
    expect(filemap_get_folio(f.i_mapping, 1)).toBe(-1);
    expect(f.i_size).toBe(4 * PAGE);
    expect(t.k.mem.free[pfns[0]!]).toBe(0);
  });
});
